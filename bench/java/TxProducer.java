// Kafka's own Java producer as a yardstick for the bench (run with `java -cp '<kafka-libs>/*' TxProducer.java ...`,
// JDK 11+ single-file source launch; kafka-clients is already among the broker's jars).
//
//   bound   <brokers> <topic> <txId> <file> <perTxn>  sends the file's "key<TAB>value" lines, acks=all, transactional,
//                                                      perTxn records per transaction; prints {"records":n,"seconds":s}
//   latency <brokers> <topic> <txId> <txns> <perTxn> <intervalMs>
//                                                      times begin->send->commit of small transactions at a quiet rate;
//                                                      prints {"sendMs":[...],"commitMs":[...],"totalMs":[...]}
import java.io.BufferedReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.Future;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.serialization.ByteArraySerializer;

public class TxProducer {
  public static void main(String[] a) throws Exception {
    Properties p = new Properties();
    p.put("bootstrap.servers", a[1]);
    p.put("transactional.id", a[3]);
    p.put("acks", "all");
    p.put("enable.idempotence", "true");
    p.put("linger.ms", a[0].equals("bound") ? "5" : "0");
    p.put("batch.size", String.valueOf(256 * 1024));
    p.put("key.serializer", ByteArraySerializer.class.getName());
    p.put("value.serializer", ByteArraySerializer.class.getName());
    try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(p)) {
      producer.initTransactions();
      if (a[0].equals("bound")) bound(producer, a[2], Path.of(a[4]), Integer.parseInt(a[5]));
      else latency(producer, a[2], Integer.parseInt(a[4]), Integer.parseInt(a[5]), Long.parseLong(a[6]));
    }
  }

  static void bound(KafkaProducer<byte[], byte[]> producer, String topic, Path file, int perTxn) throws Exception {
    // Read first so that the timed part is only the producer's work, like the Node side's prebuilt strings.
    List<byte[][]> records = new ArrayList<>();
    try (BufferedReader r = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
      for (String line; (line = r.readLine()) != null; ) {
        int tab = line.indexOf('\t');
        records.add(new byte[][] {line.substring(0, tab).getBytes(StandardCharsets.UTF_8), line.substring(tab + 1).getBytes(StandardCharsets.UTF_8)});
      }
    }
    System.err.println("ready");
    long t0 = System.nanoTime();
    for (int i = 0; i < records.size(); i += perTxn) {
      producer.beginTransaction();
      int end = Math.min(records.size(), i + perTxn);
      for (int k = i; k < end; k++) producer.send(new ProducerRecord<>(topic, records.get(k)[0], records.get(k)[1]));
      producer.commitTransaction();
    }
    double s = (System.nanoTime() - t0) / 1e9;
    System.out.println("{\"records\":" + records.size() + ",\"seconds\":" + s + "}");
  }

  static void latency(KafkaProducer<byte[], byte[]> producer, String topic, int txns, int perTxn, long intervalMs) throws Exception {
    byte[] value = new byte[400];
    java.util.Arrays.fill(value, (byte) 'x');
    StringBuilder send = new StringBuilder(), commit = new StringBuilder(), total = new StringBuilder();
    for (int t = 0; t < txns; t++) {
      long next = System.nanoTime() + intervalMs * 1_000_000L;
      long t0 = System.nanoTime();
      producer.beginTransaction();
      List<Future<RecordMetadata>> acks = new ArrayList<>();
      for (int i = 0; i < perTxn; i++) acks.add(producer.send(new ProducerRecord<>(topic, ("k" + i).getBytes(), value)));
      producer.flush();
      for (Future<RecordMetadata> f : acks) f.get();
      long t1 = System.nanoTime();
      producer.commitTransaction();
      long t2 = System.nanoTime();
      String sep = t == 0 ? "" : ",";
      send.append(sep).append((t1 - t0) / 1e6);
      commit.append(sep).append((t2 - t1) / 1e6);
      total.append(sep).append((t2 - t0) / 1e6);
      long sleep = (next - System.nanoTime()) / 1_000_000L;
      if (sleep > 0) Thread.sleep(sleep);
    }
    System.out.println("{\"sendMs\":[" + send + "],\"commitMs\":[" + commit + "],\"totalMs\":[" + total + "]}");
  }
}
