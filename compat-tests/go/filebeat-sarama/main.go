// filebeat-sarama: publishes log events to Kafka with upstream sarama configured the way
// Filebeat's output.kafka configures its client (libbeat/outputs/kafka/config.go,
// newSaramaConfig, with the defaults of defaultConfig, and partition.go's default hash
// partitioner), then reads them all back with a sarama consumer.
//
//	filebeat-sarama -brokers 127.0.0.1:9092 -topic T -version 2.1.0 -events 500
//
// The topic is not created first: like Filebeat, the producer relies on the broker's
// auto.create.topics.enable. Prints one summary line and exits 0 when every event was
// acknowledged and read back; exits 1 with the reason otherwise.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"hash/fnv"
	"log"
	"math"
	"math/rand"
	"os"
	"reflect"
	"strings"
	"time"

	"github.com/IBM/sarama"
)

// event is the shape of a Filebeat log event as its JSON codec writes it.
type event struct {
	Timestamp time.Time         `json:"@timestamp"`
	Metadata  map[string]string `json:"@metadata"`
	Message   string            `json:"message"`
	Log       map[string]any    `json:"log"`
	Input     map[string]string `json:"input"`
	Ecs       map[string]string `json:"ecs"`
	Host      map[string]string `json:"host"`
	Agent     map[string]string `json:"agent"`
}

// msgMeta is what Filebeat hangs on ProducerMessage.Metadata: the partition chosen
// the first time, so a retried event keeps it (messagePartitioner in partition.go).
type msgMeta struct {
	seq       int
	key       []byte
	partition int32
	hash      uint32
}

// filebeatPartitioner is partition.go's default: `hash` with no fields and
// reachable_only=false. Events without a key go to a random partition; a chosen
// partition sticks to the message across retries.
type filebeatPartitioner struct {
	rnd        *rand.Rand
	partitions int32
}

func (p *filebeatPartitioner) RequiresConsistency() bool { return true } // !reachable_only

func (p *filebeatPartitioner) Partition(m *sarama.ProducerMessage, n int32) (int32, error) {
	meta := m.Metadata.(*msgMeta)
	if n == p.partitions && 0 <= meta.partition && meta.partition < n {
		return meta.partition, nil
	}
	var part int32
	if meta.key == nil {
		part = int32(p.rnd.Intn(int(n)))
	} else {
		if meta.hash == 0 {
			h := fnv.New32a()
			h.Write(meta.key)
			meta.hash = h.Sum32()
		}
		v := int32(meta.hash)
		if v < 0 {
			v = -v
		}
		part = v % n
	}
	meta.partition = part
	p.partitions = n
	return part, nil
}

// makeBackoffFunc is config.go's exponential backoff with jitter (backoff.init 1s,
// backoff.max 60s by default).
func makeBackoffFunc(initial, max time.Duration) func(retries, maxRetries int) time.Duration {
	maxBackoffRetries := int(math.Ceil(math.Log2(float64(max) / float64(initial))))
	return func(retries, _ int) time.Duration {
		dur := max
		if retries < maxBackoffRetries {
			dur = time.Duration(uint64(initial) * uint64(1<<retries))
		}
		limit := int64(dur / 2)
		return time.Duration(limit + rand.Int63n(limit+1))
	}
}

// noApiVersionsRequest sets Config.ApiVersionsRequest to false. Sarama releases before
// that field (v1.28.0; Debian ships v1.22.1) never send an ApiVersions request: for them
// the setting is already what it asks for, and the field is left alone.
func noApiVersionsRequest(c *sarama.Config) {
	if f := reflect.ValueOf(c).Elem().FieldByName("ApiVersionsRequest"); f.IsValid() {
		f.SetBool(false)
	}
}

// filebeatConfig is newSaramaConfig applied to Filebeat's default output settings.
func filebeatConfig(version string) (*sarama.Config, error) {
	k := sarama.NewConfig()

	timeout := 30 * time.Second // timeout
	k.Net.DialTimeout = timeout
	k.Net.ReadTimeout = timeout
	k.Net.WriteTimeout = timeout
	k.Net.KeepAlive = 0                      // keep_alive
	k.Producer.Timeout = 10 * time.Second    // broker_timeout
	k.Producer.CompressionLevel = 4          // compression_level
	k.Metadata.Retry.Max = 3                 // metadata.retry.max
	k.Metadata.Retry.Backoff = 250 * time.Millisecond
	k.Metadata.RefreshFrequency = 10 * time.Minute
	k.Metadata.Full = false                  // metadata.full
	k.Producer.RequiredAcks = sarama.WaitForLocal // required_acks: 1
	k.Producer.Compression = sarama.CompressionGZIP
	k.Producer.Return.Successes = true
	k.Producer.Return.Errors = true
	k.Producer.Retry.Max = 3 // max_retries
	k.Producer.Retry.BackoffFunc = makeBackoffFunc(time.Second, 60*time.Second)
	k.ChannelBufferSize = 256       // channel_buffer_size
	k.Producer.Flush.MaxMessages = 2048 // bulk_max_size
	k.ClientID = "beats"            // client_id
	// Filebeat talks the protocol version its `version` setting names, without asking
	// the broker first.
	noApiVersionsRequest(k)
	v, err := sarama.ParseKafkaVersion(version)
	if err != nil {
		return nil, err
	}
	k.Version = v
	k.Producer.Partitioner = func(topic string) sarama.Partitioner {
		return &filebeatPartitioner{rnd: rand.New(rand.NewSource(rand.Int63()))}
	}
	return k, k.Validate()
}

func main() {
	brokers := flag.String("brokers", "127.0.0.1:9092", "comma separated")
	topic := flag.String("topic", "", "topic (auto-created by the broker)")
	version := flag.String("version", "2.1.0", "Filebeat's output.kafka.version")
	events := flag.Int("events", 500, "events to publish")
	deadline := flag.Duration("timeout", 90*time.Second, "overall limit")
	flag.Parse()
	if *topic == "" {
		log.Fatal("-topic is required")
	}
	if os.Getenv("SARAMA_DEBUG") != "" {
		sarama.Logger = log.New(os.Stderr, "[sarama] ", log.LstdFlags)
	}
	end := time.Now().Add(*deadline)
	runID := fmt.Sprintf("%x", rand.Int63())
	hosts := strings.Split(*brokers, ",")

	cfg, err := filebeatConfig(*version)
	if err != nil {
		fail("config: %v", err)
	}

	// --- publish, retrying failed events the way libbeat's pipeline does ---
	producer, err := sarama.NewAsyncProducer(hosts, cfg)
	if err != nil {
		fail("connect: %v", err)
	}
	payloads := make([][]byte, *events)
	now := time.Now().UTC().Truncate(time.Millisecond)
	for i := range payloads {
		ev := event{
			Timestamp: now.Add(time.Duration(i) * time.Millisecond),
			Metadata:  map[string]string{"beat": "filebeat", "type": "_doc", "version": "9.0.0"},
			Message:   fmt.Sprintf("compat %s line %d: GET /index.html HTTP/1.1 200", runID, i),
			Log:       map[string]any{"offset": i * 64, "file": map[string]string{"path": "/var/log/nginx/access.log"}},
			Input:     map[string]string{"type": "filestream"},
			Ecs:       map[string]string{"version": "8.0.0"},
			Host:      map[string]string{"name": "elk-node-1"},
			Agent:     map[string]string{"type": "filebeat", "name": "elk-node-1", "version": "9.0.0"},
		}
		payloads[i], _ = json.Marshal(ev)
	}
	send := func(seq int) {
		producer.Input() <- &sarama.ProducerMessage{
			Topic:     *topic,
			Value:     sarama.ByteEncoder(payloads[seq]),
			Timestamp: now.Add(time.Duration(seq) * time.Millisecond), // @timestamp (version >= 0.10)
			Metadata:  &msgMeta{seq: seq, partition: -1},
		}
	}
	for i := 0; i < *events; i++ {
		send(i)
	}
	acked := make(map[int]bool, *events)
	retries := 0
	var lastErr error
	for len(acked) < *events {
		select {
		case m := <-producer.Successes():
			acked[m.Metadata.(*msgMeta).seq] = true
		case pe := <-producer.Errors():
			lastErr = pe.Err
			retries++
			seq := pe.Msg.Metadata.(*msgMeta).seq
			go func() { time.Sleep(time.Second); send(seq) }()
		case <-time.After(time.Until(end)):
			fail("publish: %d of %d events acknowledged before the deadline (%d retries, last error: %v)",
				len(acked), *events, retries, lastErr)
		}
	}
	if err := producer.Close(); err != nil {
		fail("producer close: %v", err)
	}

	// --- read everything back ---
	ccfg := sarama.NewConfig()
	ccfg.ClientID = "compat-reader"
	ccfg.Version = cfg.Version
	noApiVersionsRequest(ccfg)
	ccfg.Consumer.Return.Errors = true
	client, err := sarama.NewClient(hosts, ccfg)
	if err != nil {
		fail("reader connect: %v", err)
	}
	defer client.Close()
	parts, err := client.Partitions(*topic)
	if err != nil {
		fail("reader partitions: %v", err)
	}
	consumer, err := sarama.NewConsumerFromClient(client)
	if err != nil {
		fail("reader consumer: %v", err)
	}
	defer consumer.Close()
	got := make(chan *sarama.ConsumerMessage, 1024)
	for _, p := range parts {
		pc, err := consumer.ConsumePartition(*topic, p, sarama.OffsetOldest)
		if err != nil {
			fail("consume partition %d: %v", p, err)
		}
		defer pc.Close()
		go func() {
			for m := range pc.Messages() {
				got <- m
			}
		}()
	}
	seen := make(map[string]int, *events)
	dups := 0
	for len(seen) < *events {
		select {
		case m := <-got:
			var ev event
			if err := json.Unmarshal(m.Value, &ev); err != nil {
				fail("record at %d/%d is not Filebeat JSON: %v", m.Partition, m.Offset, err)
			}
			if !strings.HasPrefix(ev.Message, "compat "+runID+" ") {
				continue
			}
			if !m.Timestamp.Equal(ev.Timestamp) {
				fail("record at %d/%d has timestamp %v, event says %v", m.Partition, m.Offset, m.Timestamp, ev.Timestamp)
			}
			if seen[ev.Message]++; seen[ev.Message] > 1 {
				dups++
			}
		case <-time.After(time.Until(end)):
			fail("read back %d of %d events before the deadline", len(seen), *events)
		}
	}
	if dups > 0 && retries == 0 {
		fail("read back %d duplicate events although nothing was retried", dups)
	}
	fmt.Printf("version %s: %d events acked and read back from %d partition(s) (gzip, acks=1, %d retries, %d duplicates)\n",
		*version, *events, len(parts), retries, dups)
}

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "filebeat-sarama: "+format+"\n", args...)
	os.Exit(1)
}
