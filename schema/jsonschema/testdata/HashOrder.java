import java.util.*;

// Prints java.util.HashMap iteration orders for the Go test: for each line
// of names on stdin, the order of a HashMap filled in that order, of its
// copy (new HashMap<>(map)) and of org.json's JSONObject copy
// (new HashMap<>(size)).
public class HashOrder {
  public static void main(String[] args) throws Exception {
    Scanner in = new Scanner(System.in, "UTF-8");
    while (in.hasNextLine()) {
      String line = in.nextLine();
      if (line.isEmpty()) continue;
      Map<String, Integer> m = new HashMap<>();
      for (String k : line.split(" ")) m.put(k, 0);
      Map<String, Integer> copy = new HashMap<>(m);
      Map<String, Integer> obj = new HashMap<>(m.size());
      for (String k : m.keySet()) obj.put(k, 0);
      System.out.println(String.join(" ", m.keySet()) + "|" + String.join(" ", copy.keySet()) + "|" + String.join(" ", obj.keySet()));
    }
  }
}
