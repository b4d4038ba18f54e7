import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import org.apache.avro.Schema;

// Reads one Avro schema per line and prints Avro Java's Schema.toString of
// it, which is the text Confluent's serializers register. A line that does
// not parse prints "ERROR <message>".
public class JavaToString {
    public static void main(String[] args) throws Exception {
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        String line;
        while ((line = in.readLine()) != null) {
            try {
                System.out.println(new Schema.Parser().parse(line).toString());
            } catch (Exception e) {
                System.out.println("ERROR " + e.getMessage().replace('\n', ' '));
            }
        }
    }
}
