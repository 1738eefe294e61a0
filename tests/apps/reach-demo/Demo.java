import com.fasterxml.jackson.databind.ObjectMapper;
import com.google.common.collect.ImmutableList;
import java.util.Map;
import org.yaml.snakeyaml.Yaml;

/**
 * The reachability end-to-end test's application: it uses snakeyaml, jackson-databind and guava
 * from its class path, and nothing of the other Debian jars beside them (log4j 1.2, h2, Spring,
 * Tomcat 9, logback, commons-compress, ...). It prints "ready" once its work is done and runs
 * until its standard input closes, so the test decides how long the agent stays connected.
 */
public class Demo {
    public static void main(String[] args) throws Exception {
        Map<String, Object> config = new Yaml().load("name: demo\nreplicas: 3\n");
        String json = new ObjectMapper().writeValueAsString(config);
        ImmutableList<String> list = ImmutableList.of(json, "done");
        System.out.println("ready " + list);
        System.out.flush();
        while (System.in.read() >= 0) {
            // Wait for the test to close our input.
        }
    }
}
