// kafka-go-0.2: segmentio/kafka-go at the API of v0.2.x (Debian stable's
// golang-github-segmentio-kafka-go-dev 0.2.1), which has no kafka.Client, no headers and
// no way to read a group's committed offsets: it speaks Produce v2 / Fetch v2 (message
// format v1), ListOffsets v1, Metadata v1, the group APIs of Kafka 0.10/0.11
// (JoinGroup v1, SyncGroup v0, OffsetCommit v2, OffsetFetch v1) and DeleteTopics v1,
// which Apache Kafka 3.9 serves and Kafka 4 refuses (KIP-896).
//
//	kafka-go-0.2 -brokers 127.0.0.1:9092 -topic T -group G -records 300 -partitions 3
//	kafka-go-0.2 -brokers 127.0.0.1:9092 -topic T -delete
//
// The first form waits until Metadata lists every partition of T (made by the suite) with
// a leader; writes the records with three kafka.Writers (round-robin balancer, acks=all;
// uncompressed, snappy and gzip, a third each; keyed, with set timestamps); reads them
// with a group kafka.Reader from the start: each record once, offsets and values rising
// per partition, key and timestamp as written; commits the last of each partition and
// closes (leaves the group); writes a second round and reads it with a new Reader of the
// same group, which must resume at the committed offsets (OffsetFetch) and see only the
// new records; commits and closes; then reads each partition's first and end offsets
// (ListOffsets), which must equal what was consumed. It prints "END p0:N p1:N ..." (for
// the suite to compare with kafka-consumer-groups) and a summary line.
// The second form deletes T (DeleteTopics).
//
// Exits 1 with the client's error on any failure.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/gzip"
	"github.com/segmentio/kafka-go/snappy"
)

// base of the records' timestamps: a whole second, so that every timestamp is exact in ms
var base = time.Now().Add(-time.Hour).Truncate(time.Second)

func stamp(n int) time.Time { return base.Add(time.Duration(n) * time.Millisecond) }

func main() {
	brokers := flag.String("brokers", "127.0.0.1:9092", "comma separated")
	topic := flag.String("topic", "", "topic (made by the caller)")
	group := flag.String("group", "", "consumer group")
	records := flag.Int("records", 300, "records of the first round")
	partitions := flag.Int("partitions", 3, "partitions of the topic")
	second := flag.Int("second", 30, "records of the second round (the resumed reader)")
	del := flag.Bool("delete", false, "delete the topic and exit")
	deadline := flag.Duration("timeout", 90*time.Second, "overall limit")
	flag.Parse()
	if *topic == "" || (*group == "" && !*del) {
		fail("-topic and -group are required")
	}
	ctx, cancel := context.WithTimeout(context.Background(), *deadline)
	defer cancel()
	seeds := strings.Split(*brokers, ",")
	errorLog := log.New(os.Stderr, "kafka-go (client log): ", 0)

	if *del {
		conn, err := kafka.DialContext(ctx, "tcp", seeds[0])
		if err != nil {
			fail("dial %s: %v", seeds[0], err)
		}
		if err := conn.DeleteTopics(*topic); err != nil {
			fail("delete topic %s: %v", *topic, err)
		}
		conn.Close()
		fmt.Printf("topic %s deleted\n", *topic)
		return
	}

	// --- metadata: every partition of the topic has a leader ---
	for attempt := 0; ; attempt++ {
		problem := ""
		conn, err := kafka.DialContext(ctx, "tcp", seeds[0])
		if err != nil {
			fail("dial %s: %v", seeds[0], err)
		}
		parts, err := conn.ReadPartitions(*topic)
		conn.Close()
		switch {
		case err != nil:
			problem = fmt.Sprintf("metadata: %v", err)
		case len(parts) != *partitions:
			problem = fmt.Sprintf("topic %s has %d partitions, want %d", *topic, len(parts), *partitions)
		default:
			for _, p := range parts {
				if p.Topic != *topic || p.Leader.Host == "" {
					problem = fmt.Sprintf("partition %d of %q has no leader", p.ID, p.Topic)
				}
			}
		}
		if problem == "" {
			break
		}
		if attempt >= 50 {
			fail("before producing: %s", problem)
		}
		time.Sleep(200 * time.Millisecond)
	}

	// --- produce: round-robin balancer, acks=all; none, snappy and gzip in turn ---
	codecs := []struct {
		name  string
		codec kafka.CompressionCodec
	}{{"none", nil}, {"snappy", snappy.NewCompressionCodec()}, {"gzip", gzip.NewCompressionCodec()}}
	per := (*records + len(codecs) - 1) / len(codecs)
	for c, codec := range codecs {
		var msgs []kafka.Message
		for i := c * per; i < (c+1)*per && i < *records; i++ {
			msgs = append(msgs, record(i))
		}
		write(ctx, seeds, *topic, codec.name, codec.codec, errorLog, msgs)
	}

	// --- consume in a group from the start, commit, leave ---
	seen := make(map[int]bool, *records+*second)
	last := map[int]kafka.Message{}
	consume(ctx, seeds, *topic, *group, errorLog, 0, *records, seen, last)
	if len(last) != *partitions {
		fail("records landed in %d of %d partitions", len(last), *partitions)
	}

	// --- a second round: a new reader of the group resumes at the committed offsets ---
	var more []kafka.Message
	for i := *records; i < *records+*second; i++ {
		more = append(more, record(i))
	}
	write(ctx, seeds, *topic, "none, second round", nil, errorLog, more)
	consume(ctx, seeds, *topic, *group, errorLog, *records, *records+*second, seen, last)

	// --- first and end offsets of each partition (ListOffsets) ---
	var total int64
	var spread, ends []string
	for p := 0; p < *partitions; p++ {
		conn, err := kafka.DialLeader(ctx, "tcp", seeds[0], *topic, p)
		if err != nil {
			fail("dial the leader of partition %d: %v", p, err)
		}
		first, end, err := conn.ReadOffsets()
		conn.Close()
		if err != nil {
			fail("offsets of partition %d: %v", p, err)
		}
		if first != 0 {
			fail("partition %d starts at offset %d, want 0", p, first)
		}
		if want := last[p].Offset + 1; end != want {
			fail("partition %d: end offset %d, but the last record read was at %d", p, end, last[p].Offset)
		}
		total += end
		spread = append(spread, fmt.Sprintf("p%d:%d", p, end))
	}
	if total != int64(*records+*second) {
		fail("end offsets sum to %d, want %d", total, *records+*second)
	}
	ends = append(ends, spread...)
	fmt.Printf("END %s\n", strings.Join(ends, " "))
	fmt.Printf("%d keyed records over %d partitions, round-robin, acks=all, none/snappy/gzip, Produce v2 (format v1), timestamps kept, read once each in order in group %s and committed; %d more read alone by a new reader of the group (resumed at the committed offsets); end offsets %s\n",
		*records, *partitions, *group, *second, strings.Join(spread, " "))
}

// record n: key-(n%37), value-n, timestamp base+n ms
func record(n int) kafka.Message {
	return kafka.Message{
		Key:   []byte(fmt.Sprintf("key-%d", n%37)),
		Value: []byte(fmt.Sprintf("value-%d", n)),
		Time:  stamp(n),
	}
}

func write(ctx context.Context, seeds []string, topic, name string, codec kafka.CompressionCodec, errorLog *log.Logger, msgs []kafka.Message) {
	w := kafka.NewWriter(kafka.WriterConfig{
		Brokers:          seeds,
		Topic:            topic,
		RequiredAcks:     -1,
		BatchTimeout:     50 * time.Millisecond,
		MaxAttempts:      3,
		CompressionCodec: codec,
		ErrorLogger:      errorLog,
	})
	if err := w.WriteMessages(ctx, msgs...); err != nil {
		fail("produce (%s, %d records): %v", name, len(msgs), err)
	}
	if err := w.Close(); err != nil {
		fail("close writer (%s): %v", name, err)
	}
	if st := w.Stats(); st.Errors != 0 {
		fail("produce (%s): the writer counted %d errors", name, st.Errors)
	}
}

// consume reads the records from..to-1 with a new group reader (nothing else), commits
// the last record of each partition and closes the reader.
func consume(ctx context.Context, seeds []string, topic, group string, errorLog *log.Logger, from, to int, seen map[int]bool, last map[int]kafka.Message) {
	reader := kafka.NewReader(kafka.ReaderConfig{
		Brokers:     seeds,
		GroupID:     group,
		Topic:       topic,
		MaxWait:     500 * time.Millisecond,
		ErrorLogger: errorLog,
		// v0.2.1's Reader.Close dials the coordinator for its LeaveGroup with the
		// reader's context, which Close has already cancelled: it never leaves, its
		// member is dropped when its session expires. The broker's smallest session
		// timeout (group.min.session.timeout.ms, 6s) keeps that, and the join of the
		// second reader (which waits for it), short.
		SessionTimeout:    6 * time.Second,
		HeartbeatInterval: time.Second,
	})
	tails := map[int]kafka.Message{}
	for got := 0; got < to-from; got++ {
		m, err := reader.FetchMessage(ctx)
		if err != nil {
			fail("fetch after %d of records %d..%d: %v", got, from, to-1, err)
		}
		var n int
		if _, err := fmt.Sscanf(string(m.Value), "value-%d", &n); err != nil {
			fail("record at partition %d offset %d: value %q", m.Partition, m.Offset, m.Value)
		}
		if m.Topic != topic || string(m.Key) != fmt.Sprintf("key-%d", n%37) {
			fail("record %d at %s/%d offset %d: key %q", n, m.Topic, m.Partition, m.Offset, m.Key)
		}
		if !m.Time.Equal(stamp(n)) {
			fail("record %d: timestamp %s, written %s", n, m.Time.Format(time.RFC3339Nano), stamp(n).Format(time.RFC3339Nano))
		}
		if seen[n] {
			fail("record %d consumed twice (partition %d offset %d)", n, m.Partition, m.Offset)
		}
		if n < from {
			fail("record %d of an earlier round read again (partition %d offset %d): the reader did not resume at the committed offset", n, m.Partition, m.Offset)
		}
		if prev, ok := last[m.Partition]; ok {
			if m.Offset != prev.Offset+1 {
				fail("partition %d went from offset %d to %d", m.Partition, prev.Offset, m.Offset)
			}
			var pn int
			fmt.Sscanf(string(prev.Value), "value-%d", &pn)
			if n <= pn {
				fail("partition %d: record %d at offset %d after record %d at offset %d", m.Partition, n, m.Offset, pn, prev.Offset)
			}
		} else if m.Offset != 0 {
			fail("partition %d: first record read at offset %d", m.Partition, m.Offset)
		}
		seen[n] = true
		last[m.Partition] = m
		tails[m.Partition] = m
	}
	var commit []kafka.Message
	var ps []int
	for p := range tails {
		ps = append(ps, p)
	}
	sort.Ints(ps)
	for _, p := range ps {
		commit = append(commit, tails[p])
	}
	if err := reader.CommitMessages(ctx, commit...); err != nil {
		fail("commit records %d..%d: %v", from, to-1, err)
	}
	if err := reader.Close(); err != nil { // v0.2.1: no LeaveGroup (see above)
		fail("close reader: %v", err)
	}
}

func fail(format string, args ...interface{}) {
	fmt.Fprintf(os.Stderr, "kafka-go-0.2: "+format+"\n", args...)
	os.Exit(1)
}
