import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.StringReader;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ExecutionException;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AlterConfigOp;
import org.apache.kafka.clients.admin.Config;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.common.KafkaFuture;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.errors.RetriableException;

/**
 * Reads and incrementally alters topic configs with Kafka's own Admin client, for topics/javaConfigAdmin.ts.
 *
 * Why Java: @confluentinc/kafka-javascript 1.10.1 exposes neither DescribeConfigs nor
 * IncrementalAlterConfigs, and hand-writing the Kafka protocol would be worse than reusing
 * the reference client from the broker's own jars.
 *
 * Protocol on stdin/stdout, so that one JVM (about a second to start) serves a whole plan or apply:
 *   1. client properties (bootstrap.servers, ...) in java.util.Properties format, ended by a line
 *      "--"; on stdin rather than argv so that credentials never show in a process listing;
 *   2. then one request per line, words separated by tabs, each word URL-encoded (UTF-8):
 *        describe TOPIC...
 *        alter (set TOPIC NAME VALUE | delete TOPIC NAME)...
 *      each answered by exactly one JSON line on stdout: per-topic results (a topic's own failure
 *      is in its "error"), or {"error": ...} when the request failed as a whole.
 * The helper exits when stdin closes.
 */
public final class TopicConfigAdmin {
  public static void main(String[] args) throws Exception {
    BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
    StringBuilder header = new StringBuilder();
    for (String line; (line = in.readLine()) != null && !line.equals("--"); ) header.append(line).append('\n');
    Properties properties = new Properties();
    properties.load(new StringReader(header.toString()));
    properties.putIfAbsent("client.id", "fleetstream-topics-config");
    try (Admin admin = Admin.create(properties)) {
      for (String line; (line = in.readLine()) != null; ) {
        if (line.isEmpty()) continue;
        System.out.println(answer(admin, line));
        System.out.flush();
      }
    }
  }

  private static String answer(Admin admin, String line) {
    List<String> words = new ArrayList<>();
    for (String word : line.split("\t", -1)) words.add(URLDecoder.decode(word, StandardCharsets.UTF_8));
    List<String> rest = words.subList(1, words.size());
    try {
      return switch (words.get(0)) {
        case "describe" -> describe(admin, rest);
        case "alter" -> alter(admin, rest);
        default -> failure(new IllegalArgumentException("unknown request " + words.get(0)));
      };
    } catch (RuntimeException e) {
      return failure(e);
    }
  }

  private static String describe(Admin admin, List<String> topics) {
    List<ConfigResource> resources = new ArrayList<>();
    for (String topic : topics) resources.add(new ConfigResource(ConfigResource.Type.TOPIC, topic));
    Map<ConfigResource, KafkaFuture<Config>> futures = admin.describeConfigs(resources).values();
    StringBuilder out = new StringBuilder("{\"topics\":[");
    boolean first = true;
    for (ConfigResource resource : resources) {
      if (!first) out.append(',');
      first = false;
      out.append("{\"name\":").append(json(resource.name()));
      try {
        Config config = futures.get(resource).get();
        out.append(",\"configs\":[");
        boolean firstEntry = true;
        for (ConfigEntry entry : config.entries()) {
          if (!firstEntry) out.append(',');
          firstEntry = false;
          out.append("{\"name\":").append(json(entry.name()))
              .append(",\"value\":").append(entry.isSensitive() ? "null" : json(entry.value()))
              .append(",\"source\":").append(json(entry.source().name()))
              .append('}');
        }
        out.append("]}");
      } catch (ExecutionException | InterruptedException e) {
        out.append(",\"error\":").append(errorJson(e.getCause() == null ? e : e.getCause())).append('}');
      }
    }
    return out.append("]}").toString();
  }

  private static String alter(Admin admin, List<String> words) {
    Map<ConfigResource, Collection<AlterConfigOp>> ops = new LinkedHashMap<>();
    for (int i = 0; i < words.size(); ) {
      String op = words.get(i);
      int arity = "set".equals(op) ? 4 : "delete".equals(op) ? 3 : -1;
      if (arity < 0 || i + arity > words.size()) {
        throw new IllegalArgumentException("bad alter operation at word " + (i + 1));
      }
      ConfigResource resource = new ConfigResource(ConfigResource.Type.TOPIC, words.get(i + 1));
      ConfigEntry entry = new ConfigEntry(words.get(i + 2), arity == 4 ? words.get(i + 3) : null);
      AlterConfigOp.OpType type = arity == 4 ? AlterConfigOp.OpType.SET : AlterConfigOp.OpType.DELETE;
      ops.computeIfAbsent(resource, r -> new ArrayList<>()).add(new AlterConfigOp(entry, type));
      i += arity;
    }
    Map<ConfigResource, KafkaFuture<Void>> futures = admin.incrementalAlterConfigs(ops).values();
    StringBuilder out = new StringBuilder("{\"topics\":[");
    boolean first = true;
    for (ConfigResource resource : ops.keySet()) {
      if (!first) out.append(',');
      first = false;
      out.append("{\"name\":").append(json(resource.name()));
      try {
        futures.get(resource).get();
      } catch (ExecutionException | InterruptedException e) {
        out.append(",\"error\":").append(errorJson(e.getCause() == null ? e : e.getCause()));
      }
      out.append('}');
    }
    return out.append("]}").toString();
  }

  private static String failure(Throwable error) {
    return "{\"error\":" + errorJson(error) + "}";
  }

  private static String errorJson(Throwable error) {
    return "{\"type\":" + json(error.getClass().getSimpleName())
        + ",\"message\":" + json(String.valueOf(error.getMessage()))
        + ",\"retriable\":" + (error instanceof RetriableException) + "}";
  }

  private static String json(String text) {
    if (text == null) return "null";
    StringBuilder out = new StringBuilder("\"");
    for (char c : text.toCharArray()) {
      switch (c) {
        case '"' -> out.append("\\\"");
        case '\\' -> out.append("\\\\");
        case '\n' -> out.append("\\n");
        case '\r' -> out.append("\\r");
        case '\t' -> out.append("\\t");
        default -> {
          if (c < 0x20) out.append(String.format("\\u%04x", (int) c));
          else out.append(c);
        }
      }
    }
    return out.append('"').toString();
  }
}
