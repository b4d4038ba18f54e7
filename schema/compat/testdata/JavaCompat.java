// JavaCompat is the oracle for compat's differential test: it reads one
// reader/writer schema pair per line (reader JSON, a tab, writer JSON) on
// stdin and prints Avro Java's SchemaCompatibility verdict for each, one
// line per pair, in order. A pair Java cannot parse prints "ERROR <message>"
// so the Go side can tell a broken corpus from a disagreement.
import java.io.BufferedReader;
import java.io.BufferedWriter;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;
import java.nio.charset.StandardCharsets;
import org.apache.avro.Schema;
import org.apache.avro.SchemaCompatibility;

public class JavaCompat {
  public static void main(String[] args) throws Exception {
    BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
    BufferedWriter out = new BufferedWriter(new OutputStreamWriter(System.out, StandardCharsets.UTF_8));
    String line;
    while ((line = in.readLine()) != null) {
      int tab = line.indexOf('\t');
      if (tab < 0) {
        out.write("ERROR line without tab\n");
        continue;
      }
      try {
        // A fresh parser per schema: names defined in one must not leak.
        Schema reader = new Schema.Parser().parse(line.substring(0, tab));
        Schema writer = new Schema.Parser().parse(line.substring(tab + 1));
        out.write(SchemaCompatibility.checkReaderWriterCompatibility(reader, writer).getType().toString());
      } catch (Exception e) {
        out.write("ERROR " + String.valueOf(e.getMessage()).replace('\n', ' '));
      }
      out.write('\n');
    }
    out.flush();
  }
}
