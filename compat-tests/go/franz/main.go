// franz: franz-go against one Kafka: kadm creates a topic, an idempotent producer (the
// client's default) writes keyed records, a group consumer reads them all and commits,
// kadm checks the committed offsets against the end offsets, describes the group and
// deletes the topic.
//
//	franz -brokers 127.0.0.1:9092 -topic T -group G -records 600 -partitions 3
//
// Prints one summary line and exits 0, or exits 1 with the reason.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

func main() {
	brokers := flag.String("brokers", "127.0.0.1:9092", "comma separated")
	topic := flag.String("topic", "", "topic to create")
	group := flag.String("group", "", "consumer group")
	records := flag.Int("records", 600, "records to produce")
	partitions := flag.Int("partitions", 3, "partitions of the topic")
	deadline := flag.Duration("timeout", 90*time.Second, "overall limit")
	flag.Parse()
	if *topic == "" || *group == "" {
		fail("-topic and -group are required")
	}
	ctx, cancel := context.WithTimeout(context.Background(), *deadline)
	defer cancel()
	seeds := kgo.SeedBrokers(strings.Split(*brokers, ",")...)

	// --- admin: create the topic ---
	adminClient, err := kgo.NewClient(seeds)
	if err != nil {
		fail("admin client: %v", err)
	}
	defer adminClient.Close()
	adm := kadm.NewClient(adminClient)
	created, err := adm.CreateTopic(ctx, int32(*partitions), 1, nil, *topic)
	if err != nil || created.Err != nil {
		fail("create topic: %v %v", err, created.Err)
	}
	details, err := adm.ListTopics(ctx, *topic)
	if err != nil {
		fail("list topics: %v", err)
	}
	td, ok := details[*topic]
	if !ok || td.Err != nil || len(td.Partitions) != *partitions {
		fail("topic %s after create: present=%v err=%v partitions=%d", *topic, ok, td.Err, len(td.Partitions))
	}
	for _, p := range td.Partitions {
		if p.Leader < 0 || p.Err != nil {
			fail("partition %d has no leader (%v)", p.Partition, p.Err)
		}
	}

	// --- produce: idempotent by default ---
	producer, err := kgo.NewClient(seeds, kgo.DefaultProduceTopic(*topic))
	if err != nil {
		fail("producer: %v", err)
	}
	batch := make([]*kgo.Record, *records)
	for i := range batch {
		batch[i] = &kgo.Record{
			Key:   []byte(fmt.Sprintf("key-%d", i%37)),
			Value: []byte(fmt.Sprintf("value-%d", i)),
		}
	}
	if err := producer.ProduceSync(ctx, batch...).FirstErr(); err != nil {
		fail("produce: %v", err)
	}
	producerID := batch[0].ProducerID
	if producerID < 0 {
		fail("records carry no producer id: the producer was not idempotent")
	}
	producer.Close()

	// --- consume in a group from the start, commit, leave ---
	consumer, err := kgo.NewClient(seeds,
		kgo.ConsumerGroup(*group),
		kgo.ConsumeTopics(*topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.DisableAutoCommit(),
	)
	if err != nil {
		fail("consumer: %v", err)
	}
	seen := make(map[string]bool, *records)
	lastOffset := map[int32]int64{}
	for len(seen) < *records {
		fetches := consumer.PollFetches(ctx)
		if ctx.Err() != nil {
			fail("consumed %d of %d records before the deadline", len(seen), *records)
		}
		if errs := fetches.Errors(); len(errs) > 0 {
			fail("fetch: %v", errs[0].Err)
		}
		fetches.EachRecord(func(r *kgo.Record) {
			if prev, ok := lastOffset[r.Partition]; ok && r.Offset <= prev {
				fail("partition %d went back from offset %d to %d", r.Partition, prev, r.Offset)
			}
			lastOffset[r.Partition] = r.Offset
			v := string(r.Value)
			if seen[v] {
				fail("record %q consumed twice", v)
			}
			seen[v] = true
		})
	}
	if err := consumer.CommitUncommittedOffsets(ctx); err != nil {
		fail("commit: %v", err)
	}
	consumer.Close() // leaves the group

	// --- admin: committed offsets, end offsets, group state ---
	ends, err := adm.ListEndOffsets(ctx, *topic)
	if err != nil {
		fail("list end offsets: %v", err)
	}
	committed, err := adm.FetchOffsets(ctx, *group)
	if err != nil {
		fail("fetch offsets: %v", err)
	}
	var total int64
	var mismatch []string
	ends.Each(func(o kadm.ListedOffset) {
		total += o.Offset
		c, ok := committed.Lookup(o.Topic, o.Partition)
		if !ok || c.Err != nil || c.At != o.Offset {
			mismatch = append(mismatch, fmt.Sprintf("p%d committed %d end %d", o.Partition, c.At, o.Offset))
		}
	})
	if total != int64(*records) || len(mismatch) > 0 {
		fail("offsets: end offsets sum to %d (want %d); %v", total, *records, mismatch)
	}
	groups, err := adm.DescribeGroups(ctx, *group)
	if err != nil {
		fail("describe group: %v", err)
	}
	g, ok := groups[*group]
	if !ok || g.Err != nil {
		fail("describe group %s: %v", *group, g.Err)
	}
	if g.State != "Empty" {
		fail("group %s is %q after its only member left, want Empty", *group, g.State)
	}
	deleted, err := adm.DeleteTopics(ctx, *topic)
	if err != nil {
		fail("delete topic: %v", err)
	}
	if d := deleted[*topic]; d.Err != nil {
		fail("delete topic: %v", d.Err)
	}
	fmt.Printf("%d records over %d partitions: produced idempotently (producer id %d), consumed once each in group %s, committed = end offsets, group Empty, topic deleted\n",
		*records, *partitions, producerID, *group)
}

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "franz: "+format+"\n", args...)
	os.Exit(1)
}
