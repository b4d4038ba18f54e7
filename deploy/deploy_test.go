package deploy

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"go/build"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/yaml"
)

const (
	manifestDir = "kubernetes"
	chartDir    = "helm/tributary"
	// releaseName is the release the chart is rendered as; with it the
	// default values give the plain manifests' names.
	releaseName = "tributary"
)

// ServiceMonitor is the Prometheus Operator's monitoring.coreos.com/v1
// ServiceMonitor, with the documented fields of its spec a Tributary
// deployment may use. Decoding is strict, so a field outside these (a typo,
// or one the operator does not have) fails the test.
type ServiceMonitor struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata"`
	Spec              ServiceMonitorSpec `json:"spec"`
}

// ServiceMonitorSpec is monitoring.coreos.com/v1 ServiceMonitorSpec.
type ServiceMonitorSpec struct {
	JobLabel          string               `json:"jobLabel,omitempty"`
	TargetLabels      []string             `json:"targetLabels,omitempty"`
	PodTargetLabels   []string             `json:"podTargetLabels,omitempty"`
	Endpoints         []Endpoint           `json:"endpoints"`
	Selector          metav1.LabelSelector `json:"selector"`
	NamespaceSelector *NamespaceSelector   `json:"namespaceSelector,omitempty"`
	SampleLimit       *uint64              `json:"sampleLimit,omitempty"`
}

// NamespaceSelector is monitoring.coreos.com/v1 NamespaceSelector.
type NamespaceSelector struct {
	Any        bool     `json:"any,omitempty"`
	MatchNames []string `json:"matchNames,omitempty"`
}

// Endpoint is monitoring.coreos.com/v1 Endpoint (scrape settings of one
// Service port), without the authentication and relabelling fields.
type Endpoint struct {
	Port            string              `json:"port,omitempty"`
	TargetPort      *intstr.IntOrString `json:"targetPort,omitempty"`
	Path            string              `json:"path,omitempty"`
	Scheme          string              `json:"scheme,omitempty"`
	Params          map[string][]string `json:"params,omitempty"`
	Interval        string              `json:"interval,omitempty"`
	ScrapeTimeout   string              `json:"scrapeTimeout,omitempty"`
	HonorLabels     bool                `json:"honorLabels,omitempty"`
	HonorTimestamps *bool               `json:"honorTimestamps,omitempty"`
}

// promDuration is the pattern the ServiceMonitor CRD gives for durations.
var promDuration = regexp.MustCompile(`^(0|(([0-9]+)y)?(([0-9]+)w)?(([0-9]+)d)?(([0-9]+)h)?(([0-9]+)m)?(([0-9]+)s)?(([0-9]+)ms)?)$`)

func (sm *ServiceMonitor) validate() error {
	if len(sm.Spec.Endpoints) == 0 {
		return fmt.Errorf("no endpoints")
	}
	for i, e := range sm.Spec.Endpoints {
		if e.Port == "" && e.TargetPort == nil {
			return fmt.Errorf("endpoints[%d]: neither port nor targetPort", i)
		}
		if e.Scheme != "" && e.Scheme != "http" && e.Scheme != "https" {
			return fmt.Errorf("endpoints[%d].scheme %q: http or https", i, e.Scheme)
		}
		for name, d := range map[string]string{"interval": e.Interval, "scrapeTimeout": e.ScrapeTimeout} {
			if d != "" && !promDuration.MatchString(d) {
				return fmt.Errorf("endpoints[%d].%s %q is not a Prometheus duration", i, name, d)
			}
		}
		if e.Interval != "" && e.ScrapeTimeout != "" {
			iv, err1 := promSeconds(e.Interval)
			st, err2 := promSeconds(e.ScrapeTimeout)
			if err1 != nil || err2 != nil || st > iv {
				return fmt.Errorf("endpoints[%d]: scrapeTimeout %s exceeds interval %s", i, e.ScrapeTimeout, e.Interval)
			}
		}
	}
	return nil
}

// promSeconds converts the h/m/s/ms forms of a Prometheus duration.
func promSeconds(d string) (float64, error) {
	total := 0.0
	for _, m := range regexp.MustCompile(`([0-9]+)(ms|s|m|h)`).FindAllStringSubmatch(d, -1) {
		n, err := strconv.ParseFloat(m[1], 64)
		if err != nil {
			return 0, err
		}
		total += n * map[string]float64{"ms": 0.001, "s": 1, "m": 60, "h": 3600}[m[2]]
	}
	return total, nil
}

// object is one decoded manifest.
type object struct {
	source string // file (and document) it came from
	kind   string
	name   string
	obj    any // *corev1.ConfigMap, *appsv1.Deployment, ..., *ServiceMonitor
}

// newObject returns the typed object for apiVersion and kind.
func newObject(apiVersion, kind string) any {
	switch apiVersion + " " + kind {
	case "v1 ServiceAccount":
		return &corev1.ServiceAccount{}
	case "v1 ConfigMap":
		return &corev1.ConfigMap{}
	case "v1 Secret":
		return &corev1.Secret{}
	case "v1 Service":
		return &corev1.Service{}
	case "apps/v1 Deployment":
		return &appsv1.Deployment{}
	case "policy/v1 PodDisruptionBudget":
		return &policyv1.PodDisruptionBudget{}
	case "monitoring.coreos.com/v1 ServiceMonitor":
		return &ServiceMonitor{}
	}
	return nil
}

var docSeparator = regexp.MustCompile(`(?m)^---[ \t]*$`)

// decodeStrict decodes every YAML document of data into its Kubernetes API
// type, rejecting unknown fields, duplicate fields and kinds not expected.
func decodeStrict(source string, data []byte) ([]object, error) {
	var out []object
	for i, doc := range docSeparator.Split(string(data), -1) {
		js, err := yaml.YAMLToJSONStrict([]byte(doc))
		if err != nil {
			return nil, fmt.Errorf("%s document %d: %w", source, i, err)
		}
		if string(js) == "null" {
			continue // empty or comments only
		}
		var tm metav1.TypeMeta
		if err := json.Unmarshal(js, &tm); err != nil {
			return nil, fmt.Errorf("%s document %d: %w", source, i, err)
		}
		obj := newObject(tm.APIVersion, tm.Kind)
		if obj == nil {
			return nil, fmt.Errorf("%s document %d: unexpected apiVersion %q kind %q", source, i, tm.APIVersion, tm.Kind)
		}
		dec := json.NewDecoder(bytes.NewReader(js))
		dec.DisallowUnknownFields()
		if err := dec.Decode(obj); err != nil {
			return nil, fmt.Errorf("%s: %s: %w", source, tm.Kind, err)
		}
		// yaml.UnmarshalStrict is the same decoding; kept as a second
		// opinion since it is what kubectl's strict decoding builds on.
		if err := yaml.UnmarshalStrict([]byte(doc), newObject(tm.APIVersion, tm.Kind)); err != nil {
			return nil, fmt.Errorf("%s: %s: %w", source, tm.Kind, err)
		}
		meta := obj.(metav1.Object)
		if meta.GetName() == "" {
			return nil, fmt.Errorf("%s: %s without metadata.name", source, tm.Kind)
		}
		out = append(out, object{source: source, kind: tm.Kind, name: meta.GetName(), obj: obj})
	}
	return out, nil
}

// loadManifests decodes every .yaml file under deploy/kubernetes.
func loadManifests(t *testing.T) []object {
	t.Helper()
	var objs []object
	err := filepath.WalkDir(manifestDir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !(strings.HasSuffix(p, ".yaml") || strings.HasSuffix(p, ".yml")) {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		o, err := decodeStrict(p, data)
		if err != nil {
			return err
		}
		if len(o) == 0 {
			return fmt.Errorf("%s: no object", p)
		}
		objs = append(objs, o...)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return objs
}

func TestManifests(t *testing.T) {
	objs := loadManifests(t)
	kinds := map[string]int{}
	for _, o := range objs {
		kinds[o.kind]++
	}
	want := map[string]int{"ServiceAccount": 1, "ConfigMap": 2, "Secret": 1, "Service": 1, "Deployment": 1, "PodDisruptionBudget": 1, "ServiceMonitor": 1}
	if fmt.Sprint(kinds) != fmt.Sprint(want) {
		t.Errorf("objects by kind: %v, want %v", kinds, want)
	}
	checkObjects(t, objs)
}

// helmBinary finds the helm CLI, skipping the test without it.
func helmBinary(t *testing.T) string {
	t.Helper()
	if p, err := exec.LookPath("helm"); err == nil {
		return p
	}
	gopath := os.Getenv("GOPATH")
	if gopath == "" {
		gopath = build.Default.GOPATH
	}
	for _, dir := range filepath.SplitList(gopath) {
		p := filepath.Join(dir, "bin", "helm")
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	msg := "helm CLI not found on PATH or in $GOPATH/bin; install it with: GOBIN=$(go env GOPATH)/bin go install helm.sh/helm/v3/cmd/helm@v3.22.0"
	if os.Getenv("TRIBUTARY_REQUIRE_HELM") == "1" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

func runHelm(t *testing.T, helm string, args ...string) ([]byte, error) {
	t.Helper()
	cmd := exec.Command(helm, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return out, fmt.Errorf("helm %s: %v: %s", strings.Join(args, " "), err, stderr.String())
	}
	return out, nil
}

// render runs helm template with extra arguments and decodes its output.
func render(t *testing.T, helm string, args ...string) []object {
	t.Helper()
	out, err := runHelm(t, helm, append([]string{"template", releaseName, chartDir}, args...)...)
	if err != nil {
		t.Fatal(err)
	}
	objs, err := decodeStrict("helm template "+strings.Join(args, " "), out)
	if err != nil {
		t.Fatal(err)
	}
	return objs
}

// valuesFiles are the chart's non-default values files.
func valuesFiles(t *testing.T) []string {
	files, err := filepath.Glob(filepath.Join(chartDir, "ci", "*-values.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 2 {
		t.Fatalf("want at least two values files in %s/ci, found %v", chartDir, files)
	}
	return files
}

func TestHelmLint(t *testing.T) {
	helm := helmBinary(t)
	args := [][]string{{"lint", "--strict", chartDir}}
	for _, f := range valuesFiles(t) {
		args = append(args, []string{"lint", "--strict", chartDir, "-f", f})
	}
	for _, a := range args {
		if out, err := runHelm(t, helm, a...); err != nil {
			t.Errorf("%v\n%s", err, out)
		}
	}
}

func TestHelmTemplate(t *testing.T) {
	helm := helmBinary(t)
	cases := map[string][]string{"default values": nil}
	for _, f := range valuesFiles(t) {
		cases[filepath.Base(f)] = []string{"-f", f}
	}
	for name, args := range cases {
		t.Run(name, func(t *testing.T) {
			objs := render(t, helm, args...)
			checkObjects(t, objs)
			if name == "production-values.yaml" {
				// The values file turns on everything optional.
				for _, k := range []string{"ServiceMonitor", "PodDisruptionBudget", "Secret", "ServiceAccount"} {
					if len(ofKind[any](objs, k)) != 1 {
						t.Errorf("%s: want one %s", name, k)
					}
				}
			}
		})
	}
}

// TestHelmRejects checks the chart's guards.
func TestHelmRejects(t *testing.T) {
	helm := helmBinary(t)
	for _, set := range []string{"worker.properties.listeners=http://:9999", "podAntiAffinity=sometimes"} {
		if out, err := runHelm(t, helm, "template", releaseName, chartDir, "--set", set); err == nil {
			t.Errorf("--set %s rendered:\n%s", set, out)
		}
	}
}

// TestHelmDefaultIsManifests: the chart's default rendering is the plain
// manifests, apart from Helm's own labels and the config checksum (and the
// ServiceMonitor, which the chart renders only when asked to).
func TestHelmDefaultIsManifests(t *testing.T) {
	helm := helmBinary(t)
	plain := loadManifests(t)
	rendered := render(t, helm, "--set", "metrics.serviceMonitor.enabled=true")
	norm := func(objs []object) map[string]string {
		m := map[string]string{}
		for _, o := range objs {
			m[o.kind+"/"+o.name] = normalize(t, o.obj)
		}
		return m
	}
	a, b := norm(plain), norm(rendered)
	var keys []string
	for k := range a {
		keys = append(keys, k)
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		switch {
		case a[k] == "":
			t.Errorf("%s rendered by the chart but not in %s", k, manifestDir)
		case b[k] == "":
			t.Errorf("%s in %s but not rendered by the chart", k, manifestDir)
		case a[k] != b[k]:
			t.Errorf("%s differs between %s (-) and the chart (+):\n%s", k, manifestDir, lineDiff(a[k], b[k]))
		}
	}
}

// normalize renders an object as indented JSON without what only Helm
// adds, with worker.properties as sorted key=value lines.
func normalize(t *testing.T, obj any) string {
	t.Helper()
	js, err := json.Marshal(obj)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(js, &m); err != nil {
		t.Fatal(err)
	}
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			if l, ok := v["labels"].(map[string]any); ok {
				for _, k := range []string{"helm.sh/chart", "app.kubernetes.io/managed-by", "app.kubernetes.io/version"} {
					delete(l, k)
				}
			}
			if a, ok := v["annotations"].(map[string]any); ok {
				for k := range a {
					if strings.HasPrefix(k, "checksum/") {
						delete(a, k)
					}
				}
				if len(a) == 0 {
					delete(v, "annotations")
				}
			}
			for _, vv := range v {
				walk(vv)
			}
		case []any:
			for _, vv := range v {
				walk(vv)
			}
		}
	}
	walk(m)
	if data, ok := m["data"].(map[string]any); ok {
		if wp, ok := data["worker.properties"].(string); ok {
			props, err := parseProperties(wp)
			if err != nil {
				t.Fatal(err)
			}
			var lines []string
			for k, v := range props {
				lines = append(lines, k+"="+v)
			}
			sort.Strings(lines)
			data["worker.properties"] = strings.Join(lines, "\n")
		}
	}
	out, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

// lineDiff lists the lines only in a (-) or only in b (+).
func lineDiff(a, b string) string {
	count := func(s string) map[string]int {
		m := map[string]int{}
		for _, l := range strings.Split(s, "\n") {
			m[strings.TrimSpace(l)]++
		}
		return m
	}
	ca, cb := count(a), count(b)
	var out []string
	for l, n := range ca {
		if cb[l] < n {
			out = append(out, "- "+l)
		}
	}
	for l, n := range cb {
		if ca[l] < n {
			out = append(out, "+ "+l)
		}
	}
	sort.Strings(out)
	return strings.Join(out, "\n")
}

func ofKind[T any](objs []object, kind string) []T {
	var out []T
	for _, o := range objs {
		if o.kind == kind {
			out = append(out, o.obj.(T))
		}
	}
	return out
}

// parseProperties reads Java properties as Tributary does: key=value or
// key: value, # and ! comments, backslash continuations.
func parseProperties(s string) (map[string]string, error) {
	out := map[string]string{}
	sc := bufio.NewScanner(strings.NewReader(s))
	var cont string
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if cont != "" {
			line, cont = cont+line, ""
		}
		if line == "" || line[0] == '#' || line[0] == '!' {
			continue
		}
		if strings.HasSuffix(line, `\`) && !strings.HasSuffix(line, `\\`) {
			cont = strings.TrimSuffix(line, `\`)
			continue
		}
		i := strings.IndexAny(line, "=:")
		if i < 0 {
			return nil, fmt.Errorf("property line %q has no = or :", line)
		}
		k := strings.TrimSpace(line[:i])
		if _, dup := out[k]; dup {
			return nil, fmt.Errorf("property %q given twice", k)
		}
		out[k] = strings.TrimSpace(line[i+1:])
	}
	return out, sc.Err()
}

var refPattern = regexp.MustCompile(`\$\{(env|file):([^}]*)\}`)

// checkObjects checks a set of objects meant to be applied together (one
// rendering of the chart, or deploy/kubernetes) against each other.
func checkObjects(t *testing.T, objs []object) {
	t.Helper()
	deps := ofKind[*appsv1.Deployment](objs, "Deployment")
	svcs := ofKind[*corev1.Service](objs, "Service")
	cms := ofKind[*corev1.ConfigMap](objs, "ConfigMap")
	if len(deps) != 1 || len(svcs) != 1 || len(cms) == 0 {
		t.Fatalf("want one Deployment and Service and a ConfigMap; have %d, %d, %d", len(deps), len(svcs), len(cms))
	}
	dep, svc := deps[0], svcs[0]
	secrets := map[string]*corev1.Secret{}
	for _, s := range ofKind[*corev1.Secret](objs, "Secret") {
		secrets[s.Name] = s
	}
	configMaps := map[string]*corev1.ConfigMap{}
	for _, c := range cms {
		configMaps[c.Name] = c
	}

	// Selectors.
	pod := &dep.Spec.Template
	podLabels := labels.Set(pod.Labels)
	sel, err := metav1.LabelSelectorAsSelector(dep.Spec.Selector)
	if err != nil || sel.Empty() || !sel.Matches(podLabels) {
		t.Errorf("Deployment selector %v does not match its pod labels %v (%v)", dep.Spec.Selector, pod.Labels, err)
	}
	if len(svc.Spec.Selector) == 0 || !labels.SelectorFromSet(svc.Spec.Selector).Matches(podLabels) {
		t.Errorf("Service selector %v does not match the pod labels %v", svc.Spec.Selector, pod.Labels)
	}
	if svc.Spec.ClusterIP != corev1.ClusterIPNone {
		t.Errorf("Service is not headless (clusterIP %q)", svc.Spec.ClusterIP)
	}
	for _, pdb := range ofKind[*policyv1.PodDisruptionBudget](objs, "PodDisruptionBudget") {
		s, err := metav1.LabelSelectorAsSelector(pdb.Spec.Selector)
		if err != nil || s.Empty() || !s.Matches(podLabels) {
			t.Errorf("PodDisruptionBudget selector %v does not match the pod labels (%v)", pdb.Spec.Selector, err)
		}
		if (pdb.Spec.MaxUnavailable == nil) == (pdb.Spec.MinAvailable == nil) {
			t.Errorf("PodDisruptionBudget: want exactly one of maxUnavailable and minAvailable")
		}
		if m := pdb.Spec.MinAvailable; m != nil && m.Type == intstr.Int && dep.Spec.Replicas != nil && m.IntValue() >= int(*dep.Spec.Replicas) {
			t.Errorf("PodDisruptionBudget minAvailable %d blocks every eviction of %d replicas", m.IntValue(), *dep.Spec.Replicas)
		}
	}
	svcPorts := map[string]bool{}
	for _, p := range svc.Spec.Ports {
		svcPorts[p.Name] = true
	}
	for _, sm := range ofKind[*ServiceMonitor](objs, "ServiceMonitor") {
		if err := sm.validate(); err != nil {
			t.Errorf("ServiceMonitor %s: %v", sm.Name, err)
		}
		s, err := metav1.LabelSelectorAsSelector(&sm.Spec.Selector)
		if err != nil || s.Empty() || !s.Matches(labels.Set(svc.Labels)) {
			t.Errorf("ServiceMonitor selector %v does not match the Service labels %v (%v)", sm.Spec.Selector, svc.Labels, err)
		}
		for _, e := range sm.Spec.Endpoints {
			if e.Port != "" && !svcPorts[e.Port] {
				t.Errorf("ServiceMonitor endpoint port %q is not a port of the Service", e.Port)
			}
			if e.Path != "/metrics" {
				t.Errorf("ServiceMonitor endpoint path %q, want /metrics", e.Path)
			}
		}
	}
	if sas := ofKind[*corev1.ServiceAccount](objs, "ServiceAccount"); len(sas) == 1 && sas[0].Name != pod.Spec.ServiceAccountName {
		t.Errorf("pods run as ServiceAccount %q, the manifests create %q", pod.Spec.ServiceAccountName, sas[0].Name)
	}

	// The container, its ports and probes.
	if len(pod.Spec.Containers) != 1 {
		t.Fatalf("want one container, have %d", len(pod.Spec.Containers))
	}
	c := pod.Spec.Containers[0]
	ports := map[string]int32{}
	for _, p := range c.Ports {
		ports[p.Name] = p.ContainerPort
	}
	for _, p := range svc.Spec.Ports {
		if p.TargetPort.Type == intstr.String && ports[p.TargetPort.StrVal] == 0 {
			t.Errorf("Service port %s targets %q, not a container port", p.Name, p.TargetPort.StrVal)
		}
	}
	for name, pr := range map[string]*corev1.Probe{"startup": c.StartupProbe, "liveness": c.LivenessProbe, "readiness": c.ReadinessProbe} {
		want := map[string]string{"startup": "/healthz", "liveness": "/healthz", "readiness": "/readyz"}[name]
		switch {
		case pr == nil || pr.HTTPGet == nil:
			t.Errorf("no HTTP %s probe", name)
		case pr.HTTPGet.Path != want:
			t.Errorf("%s probe on %s, want %s", name, pr.HTTPGet.Path, want)
		case pr.HTTPGet.Port.Type == intstr.String && ports[pr.HTTPGet.Port.StrVal] == 0:
			t.Errorf("%s probe port %q is not a container port", name, pr.HTTPGet.Port.StrVal)
		}
	}
	if a := pod.Annotations; a["prometheus.io/scrape"] == "true" {
		if a["prometheus.io/path"] != "/metrics" || a["prometheus.io/port"] != strconv.Itoa(int(ports["http"])) {
			t.Errorf("prometheus.io annotations %v do not point at /metrics on the http port %d", a, ports["http"])
		}
	}

	// Volumes: every mount has a volume; ConfigMaps and Secrets of the
	// manifests exist under the names referenced.
	volumes := map[string]corev1.Volume{}
	for _, v := range pod.Spec.Volumes {
		volumes[v.Name] = v
		if v.ConfigMap != nil && configMaps[v.ConfigMap.Name] == nil {
			t.Errorf("volume %s: ConfigMap %q is not among the manifests", v.Name, v.ConfigMap.Name)
		}
	}
	mountOf := func(file string) (corev1.VolumeMount, string, bool) {
		for _, m := range c.VolumeMounts {
			if rel, err := filepath.Rel(m.MountPath, file); err == nil && !strings.HasPrefix(rel, "..") && rel != "." {
				return m, rel, true
			}
		}
		return corev1.VolumeMount{}, "", false
	}
	for _, m := range c.VolumeMounts {
		if _, ok := volumes[m.Name]; !ok {
			t.Errorf("volume mount %s has no volume", m.Name)
		}
	}

	// The worker properties file is the one -c names.
	var configPath string
	for i, a := range c.Args {
		if a == "-c" && i+1 < len(c.Args) {
			configPath = c.Args[i+1]
		}
	}
	if len(c.Args) == 0 || c.Args[0] != "distributed" || configPath == "" {
		t.Fatalf("container args %q: want distributed -c FILE", c.Args)
	}
	m, rel, ok := mountOf(configPath)
	if !ok || volumes[m.Name].ConfigMap == nil {
		t.Fatalf("%s is not in a mounted ConfigMap", configPath)
	}
	cm := configMaps[volumes[m.Name].ConfigMap.Name]
	text, ok := cm.Data[rel]
	if !ok {
		t.Fatalf("ConfigMap %s has no key %q for %s", cm.Name, rel, configPath)
	}
	props, err := parseProperties(text)
	if err != nil {
		t.Fatalf("ConfigMap %s %s: %v", cm.Name, rel, err)
	}
	for _, k := range []string{"bootstrap.servers", "group.id", "config.storage.topic", "offset.storage.topic", "status.storage.topic", "listeners"} {
		if props[k] == "" {
			t.Errorf("worker properties lack %s (distributed mode needs it)", k)
		}
	}
	if props["listeners"] != fmt.Sprintf("http://0.0.0.0:%d", ports["http"]) {
		t.Errorf("listeners=%s, want the http container port %d", props["listeners"], ports["http"])
	}
	if props["rest.advertised.port"] != strconv.Itoa(int(ports["http"])) {
		t.Errorf("rest.advertised.port=%s, want %d", props["rest.advertised.port"], ports["http"])
	}

	// Config provider references resolve in the pod.
	env := map[string]corev1.EnvVar{}
	for _, e := range c.Env {
		if _, dup := env[e.Name]; dup {
			t.Errorf("env %s given twice", e.Name)
		}
		env[e.Name] = e
	}
	if e := env["POD_IP"]; e.ValueFrom == nil || e.ValueFrom.FieldRef == nil || e.ValueFrom.FieldRef.FieldPath != "status.podIP" {
		t.Errorf("POD_IP does not come from the downward API's status.podIP: %+v", e)
	}
	if props["rest.advertised.host.name"] != "${env:POD_IP}" {
		t.Errorf("rest.advertised.host.name=%q, want ${env:POD_IP}", props["rest.advertised.host.name"])
	}
	for _, e := range c.Env {
		if e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil {
			ref := e.ValueFrom.SecretKeyRef
			if s := secrets[ref.Name]; s != nil && !secretHas(s, ref.Key) {
				t.Errorf("env %s: Secret %s has no key %q", e.Name, ref.Name, ref.Key)
			}
		}
	}
	// checkRefs checks the config provider references of one property.
	checkRefs := func(where, k, v string) {
		for _, ref := range refPattern.FindAllStringSubmatch(v, -1) {
			if ref[1] == "env" {
				if _, ok := env[ref[2]]; !ok {
					t.Errorf("%s: %s=%s: the container has no environment variable %s", where, k, v, ref[2])
				}
				continue
			}
			i := strings.LastIndex(ref[2], ":")
			if i < 0 {
				t.Errorf("%s: %s=%s: want ${file:path:key}", where, k, v)
				continue
			}
			file, key := ref[2][:i], ref[2][i+1:]
			m, rel, ok := mountOf(file)
			if !ok {
				t.Errorf("%s: %s=%s: %s is on no mounted volume", where, k, v, file)
				continue
			}
			vol := volumes[m.Name]
			if vol.Secret == nil {
				t.Errorf("%s: %s=%s: %s is on volume %s, not a Secret", where, k, v, file, m.Name)
				continue
			}
			s := secrets[vol.Secret.SecretName]
			if s == nil {
				continue // an existing Secret: its keys are not known here
			}
			content, ok := secretFile(s, vol.Secret, rel)
			if !ok {
				t.Errorf("%s: %s=%s: Secret %s gives no file %s", where, k, v, s.Name, rel)
				continue
			}
			fp, err := parseProperties(content)
			if err != nil {
				t.Errorf("%s: %s=%s: Secret %s file %s: %v", where, k, v, s.Name, rel, err)
			} else if _, ok := fp[key]; !ok {
				t.Errorf("%s: %s=%s: Secret %s file %s has no key %q", where, k, v, s.Name, rel, key)
			}
		}
	}
	keys := make([]string, 0, len(props))
	for k := range props {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		checkRefs("worker properties", k, props[k])
	}

	// Connector files: --connectors-dir is a mounted ConfigMap whose keys
	// are connector files, with references that resolve in the pod.
	for i, a := range c.Args {
		if a != "--connectors-dir" || i+1 >= len(c.Args) {
			continue
		}
		dir := c.Args[i+1]
		var mount *corev1.VolumeMount
		for j := range c.VolumeMounts {
			if c.VolumeMounts[j].MountPath == dir {
				mount = &c.VolumeMounts[j]
			}
		}
		if mount == nil || volumes[mount.Name].ConfigMap == nil || configMaps[volumes[mount.Name].ConfigMap.Name] == nil {
			t.Errorf("--connectors-dir %s is not a mounted ConfigMap of the manifests", dir)
			continue
		}
		cm := configMaps[volumes[mount.Name].ConfigMap.Name]
		for name, text := range cm.Data {
			checkConnectorFile(t, cm.Name+" "+name, name, text, checkRefs)
		}
	}

	// Shutdown and memory.
	grace := int64(30)
	if pod.Spec.TerminationGracePeriodSeconds != nil {
		grace = *pod.Spec.TerminationGracePeriodSeconds
	}
	bound := millis(props, "task.shutdown.graceful.timeout.ms", 30000) + millis(props, "offset.flush.timeout.ms", 5000)
	if grace*1000 <= bound {
		t.Errorf("terminationGracePeriodSeconds %d does not cover task.shutdown.graceful.timeout.ms + offset.flush.timeout.ms = %d ms", grace, bound)
	}
	limit, hasLimit := c.Resources.Limits[corev1.ResourceMemory]
	if req, ok := c.Resources.Requests[corev1.ResourceMemory]; ok && hasLimit && req.Cmp(limit) > 0 {
		t.Errorf("memory request %s exceeds the limit %s", req.String(), limit.String())
	}
	if e, ok := env["GOMEMLIMIT"]; ok {
		n, err := goMemLimit(e.Value)
		switch {
		case err != nil:
			t.Errorf("GOMEMLIMIT=%q: %v", e.Value, err)
		case !hasLimit:
			t.Errorf("GOMEMLIMIT=%s without a memory limit", e.Value)
		case n >= limit.Value() || n < limit.Value()*3/4:
			t.Errorf("GOMEMLIMIT=%s: want 75-99%% of the memory limit %s", e.Value, limit.String())
		}
	}
	if sc := pod.Spec.SecurityContext; sc == nil || sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot {
		t.Errorf("pods do not require runAsNonRoot")
	}
}

// checkConnectorFile checks one file of a connector directory: a
// connector ({name, config}) or a Strimzi KafkaConnector, with every
// property's references checked by checkRefs.
func checkConnectorFile(t *testing.T, where, name, text string, checkRefs func(where, k, v string)) {
	t.Helper()
	switch strings.ToLower(path.Ext(name)) {
	case ".yaml", ".yml", ".json":
	default:
		t.Errorf("%s: the worker reads only *.yaml, *.yml and *.json files", where)
		return
	}
	var doc struct {
		APIVersion string         `json:"apiVersion"`
		Kind       string         `json:"kind"`
		Name       string         `json:"name"`
		Config     map[string]any `json:"config"`
		Metadata   map[string]any `json:"metadata"`
		Spec       struct {
			Class        string         `json:"class"`
			TasksMax     *int           `json:"tasksMax"`
			State        string         `json:"state"`
			Pause        *bool          `json:"pause"`
			Config       map[string]any `json:"config"`
			AutoRestart  any            `json:"autoRestart"`
			ListOffsets  any            `json:"listOffsets"`
			AlterOffsets any            `json:"alterOffsets"`
		} `json:"spec"`
	}
	if err := yaml.UnmarshalStrict([]byte(text), &doc); err != nil {
		t.Errorf("%s: %v", where, err)
		return
	}
	cfg := doc.Config
	switch {
	case doc.Kind == "KafkaConnector" && strings.HasPrefix(doc.APIVersion, "kafka.strimzi.io/"):
		if n, _ := doc.Metadata["name"].(string); n == "" || doc.Spec.Class == "" {
			t.Errorf("%s: a KafkaConnector needs metadata.name and spec.class", where)
		}
		if st := doc.Spec.State; st != "" && st != "running" && st != "paused" && st != "stopped" {
			t.Errorf("%s: spec.state %q", where, st)
		}
		cfg = doc.Spec.Config
	case doc.Kind == "" && doc.APIVersion == "":
		if doc.Name == "" || doc.Config["connector.class"] == nil {
			t.Errorf("%s: a connector file needs name and config with connector.class", where)
		}
	default:
		t.Errorf("%s: %s %s is not a connector file", where, doc.APIVersion, doc.Kind)
	}
	for k, v := range cfg {
		if s, ok := v.(string); ok {
			checkRefs(where, k, s)
		}
	}
}

func millis(props map[string]string, k string, dflt int64) int64 {
	if v, ok := props[k]; ok {
		if n, err := strconv.ParseInt(v, 10, 64); err == nil {
			return n
		}
	}
	return dflt
}

// goMemLimit parses GOMEMLIMIT as the Go runtime does (bytes with an
// optional B, KiB, MiB, GiB or TiB suffix).
func goMemLimit(s string) (int64, error) {
	for _, u := range []struct {
		suffix string
		mul    int64
	}{{"TiB", 1 << 40}, {"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}, {"B", 1}} {
		if n, ok := strings.CutSuffix(s, u.suffix); ok {
			v, err := strconv.ParseInt(n, 10, 64)
			return v * u.mul, err
		}
	}
	return strconv.ParseInt(s, 10, 64)
}

func secretHas(s *corev1.Secret, key string) bool {
	if _, ok := s.StringData[key]; ok {
		return true
	}
	_, ok := s.Data[key]
	return ok
}

// secretFile is the content of file rel of a Secret volume.
func secretFile(s *corev1.Secret, v *corev1.SecretVolumeSource, rel string) (string, bool) {
	key := rel
	if len(v.Items) > 0 {
		key = ""
		for _, it := range v.Items {
			if path.Clean(it.Path) == rel {
				key = it.Key
			}
		}
	}
	if d, ok := s.StringData[key]; ok {
		return d, true
	}
	d, ok := s.Data[key]
	return string(d), ok
}
