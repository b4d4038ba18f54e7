package compat

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tributary-io/tributary/schema/avsc"
)

const corpusSeed = 20240611
const corpusSize = 4000

func javaClasspath(t *testing.T) string {
	t.Helper()
	jars := []string{"avro", "jackson-core-asl", "jackson-mapper-asl", "slf4j-api", "slf4j-nop", "paranamer", "commons-compress"}
	var missing []string
	paths := make([]string, 0, len(jars))
	for _, j := range jars {
		p := filepath.Join("/usr/share/java", j+".jar")
		if _, err := os.Stat(p); err != nil {
			missing = append(missing, p)
		}
		paths = append(paths, p)
	}
	if len(missing) > 0 {
		t.Fatalf("Avro Java differential test needs Debian's libavro-java (missing %s); "+
			"install it with `apt-get install -y libavro-java default-jdk-headless`, or set TRIBUTARY_SKIP_JAVA=1",
			strings.Join(missing, ", "))
	}
	return strings.Join(paths, string(os.PathListSeparator))
}

// runJava compiles testdata/JavaCompat.java and returns Java's verdict for
// each "reader\twriter" line.
func runJava(t *testing.T, lines []string) []string {
	t.Helper()
	if os.Getenv("TRIBUTARY_SKIP_JAVA") == "1" {
		t.Skip("TRIBUTARY_SKIP_JAVA=1")
	}
	for _, tool := range []string{"javac", "java"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("Avro Java differential test needs %s on PATH (apt-get install -y default-jdk-headless), or set TRIBUTARY_SKIP_JAVA=1", tool)
		}
	}
	cp := javaClasspath(t)
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	src, err := filepath.Abs("testdata/JavaCompat.java")
	if err != nil {
		t.Fatal(err)
	}
	if out, err := exec.CommandContext(ctx, "javac", "-nowarn", "-cp", cp, "-d", dir, src).CombinedOutput(); err != nil {
		t.Fatalf("javac JavaCompat.java: %v\n%s", err, out)
	}
	cmd := exec.CommandContext(ctx, "java", "-Xshare:auto", "-cp", cp+string(os.PathListSeparator)+dir, "JavaCompat")
	cmd.Stdin = strings.NewReader(strings.Join(lines, "\n") + "\n")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("java JavaCompat: %v\n%s", err, stderr.String())
	}
	var res []string
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		res = append(res, sc.Text())
	}
	if len(res) != len(lines) {
		t.Fatalf("java printed %d verdicts for %d pairs; stderr:\n%s", len(res), len(lines), stderr.String())
	}
	return res
}

type diffCase struct {
	reader, writer string
	pair           int
	direction      string
}

// TestDifferentialAgainstAvroJava compares Check with Apache Avro Java on a
// generated corpus of schema evolutions, in both directions per pair.
//
// Avro Java 1.8.2 (Debian's libavro-java, the oracle here) answers some
// cases differently from the specification, which this package follows (as
// do Avro 1.9+ and so Confluent Schema Registry). The corpus leaves these out
// and TestJava18Deviations pins our spec answers instead:
//   - A union writer read by a non-union reader: 1.8 says INCOMPATIBLE even
//     when every writer branch is readable ("long" reading ["int","long"]).
//     Wrap/unwrap mutations mark the direction that creates this.
//   - Named types: 1.8 compares full names, the spec unqualified names. The
//     corpus never changes a namespace.
//   - Enum defaults (1.9+): 1.8 ignores them. The corpus never adds one.
func TestDifferentialAgainstAvroJava(t *testing.T) {
	corpus := generateCorpus(corpusSeed, corpusSize)
	var cases []diffCase
	for i, p := range corpus {
		if !p.skipAReadsB {
			cases = append(cases, diffCase{p.a, p.b, i, "a reads b"})
		}
		if !p.skipBReadsA {
			cases = append(cases, diffCase{p.b, p.a, i, "b reads a"})
		}
	}
	lines := make([]string, len(cases))
	for i, c := range cases {
		lines[i] = c.reader + "\t" + c.writer
	}
	verdicts := runJava(t, lines)

	agree, compatible, disagreements := 0, 0, 0
	for i, c := range cases {
		if strings.HasPrefix(verdicts[i], "ERROR") {
			t.Errorf("pair %d: Java cannot parse the corpus: %s\nreader: %s\nwriter: %s", c.pair, verdicts[i], c.reader, c.writer)
			continue
		}
		r, err := avsc.Parse(c.reader)
		if err != nil {
			t.Errorf("pair %d: reader: %v\n%s", c.pair, err, c.reader)
			continue
		}
		w, err := avsc.Parse(c.writer)
		if err != nil {
			t.Errorf("pair %d: writer: %v\n%s", c.pair, err, c.writer)
			continue
		}
		incs := Check(r, w)
		ours := "COMPATIBLE"
		if len(incs) > 0 {
			ours = "INCOMPATIBLE"
		} else {
			compatible++
		}
		if ours != verdicts[i] {
			disagreements++
			if disagreements <= 20 {
				t.Errorf("pair %d (%s, mutations %v): Java says %s, we say %s %v\nreader: %s\nwriter: %s",
					c.pair, c.direction, corpus[c.pair].mutations, verdicts[i], ours, incs, c.reader, c.writer)
			}
			continue
		}
		agree++
	}
	if disagreements > 0 {
		t.Errorf("%d of %d checks disagree with Avro Java", disagreements, len(cases))
	}
	// A corpus that is all one verdict would prove little.
	if compatible < len(cases)/5 || compatible > len(cases)*4/5 {
		t.Errorf("corpus is lopsided: %d of %d compatible", compatible, len(cases))
	}
	kinds := map[string]int{}
	for _, p := range corpus {
		for _, m := range p.mutations {
			kinds[m]++
		}
	}
	for _, k := range []string{"add-field-default", "add-field-no-default", "remove-field", "change-type", "promote",
		"enum-add-symbol", "enum-remove-symbol", "union-widen", "union-narrow", "wrap-in-union", "unwrap-union",
		"fixed-resize", "rename-type", "rename-type-alias", "rename-field", "rename-field-alias", "container-element-change"} {
		if kinds[k] < 40 {
			t.Errorf("mutation %s occurs only %d times in the corpus", k, kinds[k])
		}
	}
	t.Logf("mutations: %v", kinds)
	t.Logf("%d of %d reader/writer checks (from %d schema pairs) agree with Avro Java 1.8.2; %d compatible",
		agree, len(cases), len(corpus), compatible)
	fmt.Fprintf(os.Stderr, "compat: %d/%d checks agree with Avro Java\n", agree, len(cases))
}

func TestCorpusIsDeterministic(t *testing.T) {
	a := generateCorpus(7, 50)
	b := generateCorpus(7, 50)
	for i := range a {
		if a[i].a != b[i].a || a[i].b != b[i].b {
			t.Fatalf("pair %d differs between runs with the same seed", i)
		}
	}
}
