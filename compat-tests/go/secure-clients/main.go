// secure-clients: sarama or franz-go against one Kafka listener with SASL (PLAIN,
// SCRAM-SHA-256, SCRAM-SHA-512) and/or TLS (a CA to verify the broker, optionally a
// client certificate for mTLS). Used by the kafka-sasl and kafka-tls suites.
//
//	secure-clients -lib sarama|franz -brokers H:P -topic T -records 50 \
//	    [-mechanism PLAIN|SCRAM-SHA-256|SCRAM-SHA-512 -user U -password P] \
//	    [-tls -ca ca.pem [-cert client.pem -key client-plain.key]] [-expect-failure]
//
// Without -expect-failure: writes -records records (acks=all, one at a time in order)
// to partition 0 of the topic, then reads partition 0 from the oldest offset until it
// has as many, and checks that they are exactly the records written, in order. Prints
// one summary line and exits 0, or exits 1 with the reason.
//
// -force-cert sends the client certificate even when the broker's CertificateRequest
// names CAs that did not issue it (Go's default is to send no certificate then).
//
// With -expect-failure: the client must not get a record acknowledged; it prints
// "refused: <the client's error>" and exits 0 (the suite asserts the error text), or
// exits 1 when a record was acknowledged.
//
// sarama has no SCRAM client of its own (its examples take github.com/xdg-go/scram);
// this program implements RFC 5802's client side with the standard library (scramClient
// below), so that versions.env stays the one list of pinned modules.
package main

import (
	"context"
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"hash"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/IBM/sarama"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"
)

var (
	lib       = flag.String("lib", "sarama", "sarama | franz")
	brokers   = flag.String("brokers", "127.0.0.1:9092", "comma separated")
	topic     = flag.String("topic", "", "topic (partition 0 is used)")
	records   = flag.Int("records", 50, "records to write and read back")
	mechanism = flag.String("mechanism", "", "PLAIN | SCRAM-SHA-256 | SCRAM-SHA-512 (empty: no SASL)")
	user      = flag.String("user", "", "SASL user")
	password  = flag.String("password", "", "SASL password")
	useTLS    = flag.Bool("tls", false, "connect with TLS")
	caFile    = flag.String("ca", "", "PEM CA the broker's certificate must chain to")
	certFile  = flag.String("cert", "", "PEM client certificate (mTLS)")
	keyFile   = flag.String("key", "", "PEM unencrypted client key (mTLS)")
	forceCert = flag.Bool("force-cert", false, "send -cert whatever CA names the broker's CertificateRequest lists")
	expectErr = flag.Bool("expect-failure", false, "the client must be refused")
	deadline  = flag.Duration("timeout", 60*time.Second, "overall limit")
)

func main() {
	flag.Parse()
	if *topic == "" {
		fail("-topic is required")
	}
	tlsCfg, err := tlsConfig()
	if err != nil {
		fail("tls config: %v", err)
	}
	values := make([]string, *records)
	for i := range values {
		values[i] = fmt.Sprintf("%s %s record %d", *lib, *topic, i)
	}
	start := time.Now()
	var got []string
	switch *lib {
	case "sarama":
		got, err = runSarama(tlsCfg, values)
	case "franz":
		got, err = runFranz(tlsCfg, values)
	default:
		fail("unknown -lib %q", *lib)
	}
	what := describe()
	if *expectErr {
		if err == nil {
			fail("%s: expected a refusal, but %d records were written and read back", what, len(got))
		}
		fmt.Printf("refused: %s\n", strings.ReplaceAll(err.Error(), "\n", " "))
		return
	}
	if err != nil {
		fail("%s: %v", what, err)
	}
	for i := range values {
		if i >= len(got) || got[i] != values[i] {
			g := "<missing>"
			if i < len(got) {
				g = got[i]
			}
			fail("%s: record %d is %q, expected %q", what, i, g, values[i])
		}
	}
	if len(got) != len(values) {
		fail("%s: read %d records, expected %d", what, len(got), len(values))
	}
	fmt.Printf("%s: %d records written (acks=all) and read back in order [%.1fs]\n", what, len(values), time.Since(start).Seconds())
}

func describe() string {
	name := map[string]string{"sarama": "sarama", "franz": "franz-go"}[*lib]
	var parts []string
	if *useTLS {
		t := "TLS"
		if *certFile != "" {
			t = "mTLS"
		}
		parts = append(parts, t)
	}
	if *mechanism != "" {
		parts = append(parts, *mechanism+" as "+*user)
	}
	if len(parts) == 0 {
		parts = append(parts, "plaintext")
	}
	return name + " (" + strings.Join(parts, ", ") + ")"
}

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "secure-clients: "+format+"\n", args...)
	fmt.Printf("FAIL: "+format+"\n", args...)
	os.Exit(1)
}

func tlsConfig() (*tls.Config, error) {
	if !*useTLS {
		return nil, nil
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if *caFile != "" {
		pem, err := os.ReadFile(*caFile)
		if err != nil {
			return nil, err
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("no certificate in %s", *caFile)
		}
		cfg.RootCAs = pool
	}
	if *certFile != "" {
		pair, err := tls.LoadX509KeyPair(*certFile, *keyFile)
		if err != nil {
			return nil, err
		}
		cfg.Certificates = []tls.Certificate{pair}
		if *forceCert {
			// Go withholds a certificate that none of the CertificateRequest's acceptable
			// CA names issued (and sends none); -force-cert sends it regardless, so that
			// the broker has to judge a certificate of another CA.
			cfg.GetClientCertificate = func(cri *tls.CertificateRequestInfo) (*tls.Certificate, error) {
				fmt.Fprintf(os.Stderr, "secure-clients: CertificateRequest lists %d acceptable CA name(s); sending %s anyway\n", len(cri.AcceptableCAs), *certFile)
				return &pair, nil
			}
		}
	}
	return cfg, nil
}

// --- sarama -------------------------------------------------------------------------

func runSarama(tlsCfg *tls.Config, values []string) ([]string, error) {
	cfg := sarama.NewConfig()
	cfg.ClientID = "keel-compat-secure-sarama"
	cfg.Version = sarama.V2_8_0_0
	cfg.Metadata.Retry.Max = 2
	cfg.Metadata.Retry.Backoff = 500 * time.Millisecond
	cfg.Net.DialTimeout = 10 * time.Second
	cfg.Producer.RequiredAcks = sarama.WaitForAll
	cfg.Producer.Return.Successes = true
	cfg.Producer.Retry.Max = 3
	cfg.Producer.Partitioner = sarama.NewManualPartitioner
	cfg.Consumer.Return.Errors = true
	if tlsCfg != nil {
		cfg.Net.TLS.Enable = true
		cfg.Net.TLS.Config = tlsCfg
	}
	if *mechanism != "" {
		cfg.Net.SASL.Enable = true
		cfg.Net.SASL.Handshake = true
		cfg.Net.SASL.Version = sarama.SASLHandshakeV1
		cfg.Net.SASL.User = *user
		cfg.Net.SASL.Password = *password
		switch *mechanism {
		case "PLAIN":
			cfg.Net.SASL.Mechanism = sarama.SASLTypePlaintext
		case "SCRAM-SHA-256":
			cfg.Net.SASL.Mechanism = sarama.SASLTypeSCRAMSHA256
			cfg.Net.SASL.SCRAMClientGeneratorFunc = func() sarama.SCRAMClient { return &scramClient{h: sha256.New} }
		case "SCRAM-SHA-512":
			cfg.Net.SASL.Mechanism = sarama.SASLTypeSCRAMSHA512
			cfg.Net.SASL.SCRAMClientGeneratorFunc = func() sarama.SCRAMClient { return &scramClient{h: sha512.New} }
		default:
			return nil, fmt.Errorf("unknown mechanism %s", *mechanism)
		}
	}
	bs := strings.Split(*brokers, ",")
	client, err := sarama.NewClient(bs, cfg)
	if err != nil {
		return nil, fmt.Errorf("client: %w", err)
	}
	defer client.Close()
	producer, err := sarama.NewSyncProducerFromClient(client)
	if err != nil {
		return nil, fmt.Errorf("producer: %w", err)
	}
	for i, v := range values {
		p, off, err := producer.SendMessage(&sarama.ProducerMessage{Topic: *topic, Partition: 0, Value: sarama.StringEncoder(v)})
		if err != nil {
			producer.Close()
			return nil, fmt.Errorf("produce record %d: %w", i, err)
		}
		if p != 0 || off < 0 {
			producer.Close()
			return nil, fmt.Errorf("record %d acknowledged at partition %d offset %d", i, p, off)
		}
	}
	producer.Close()
	consumer, err := sarama.NewConsumerFromClient(client)
	if err != nil {
		return nil, fmt.Errorf("consumer: %w", err)
	}
	defer consumer.Close()
	pc, err := consumer.ConsumePartition(*topic, 0, sarama.OffsetOldest)
	if err != nil {
		return nil, fmt.Errorf("consume partition: %w", err)
	}
	defer pc.Close()
	var got []string
	timer := time.After(*deadline)
	for len(got) < len(values) {
		select {
		case m := <-pc.Messages():
			got = append(got, string(m.Value))
		case e := <-pc.Errors():
			return got, fmt.Errorf("consume: %w", e)
		case <-timer:
			return got, fmt.Errorf("read %d of %d records within %s", len(got), len(values), *deadline)
		}
	}
	return got, nil
}

// scramClient: RFC 5802's client side (no channel binding, "n,," GS2 header), for
// sarama's SCRAMClient interface.
type scramClient struct {
	h                 func() hash.Hash
	user, pass, nonce string
	clientFirstBare   string
	serverSignature   []byte
	step              int
	done              bool
}

func (c *scramClient) Begin(userName, password, authzID string) error {
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		return err
	}
	c.user = strings.NewReplacer("=", "=3D", ",", "=2C").Replace(userName)
	c.pass = password
	c.nonce = base64.RawStdEncoding.EncodeToString(b)
	c.step = 0
	c.done = false
	return nil
}

func (c *scramClient) Step(challenge string) (string, error) {
	switch c.step {
	case 0:
		c.step++
		c.clientFirstBare = "n=" + c.user + ",r=" + c.nonce
		return "n,," + c.clientFirstBare, nil
	case 1:
		c.step++
		attrs := map[string]string{}
		for _, kv := range strings.Split(challenge, ",") {
			if len(kv) >= 2 && kv[1] == '=' {
				attrs[kv[:1]] = kv[2:]
			}
		}
		if e, ok := attrs["e"]; ok {
			return "", fmt.Errorf("server error: %s", e)
		}
		r, s, i := attrs["r"], attrs["s"], attrs["i"]
		if !strings.HasPrefix(r, c.nonce) {
			return "", errors.New("server nonce does not extend the client's")
		}
		salt, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			return "", fmt.Errorf("salt: %w", err)
		}
		iters, err := strconv.Atoi(i)
		if err != nil {
			return "", fmt.Errorf("iterations: %w", err)
		}
		salted, err := pbkdf2.Key(c.h, c.pass, salt, iters, c.h().Size())
		if err != nil {
			return "", err
		}
		clientKey := c.hmac(salted, "Client Key")
		storedKey := c.sum(clientKey)
		final := "c=biws,r=" + r
		authMsg := c.clientFirstBare + "," + challenge + "," + final
		sig := c.hmac(storedKey, authMsg)
		proof := make([]byte, len(clientKey))
		for k := range proof {
			proof[k] = clientKey[k] ^ sig[k]
		}
		c.serverSignature = c.hmac(c.hmac(salted, "Server Key"), authMsg)
		return final + ",p=" + base64.StdEncoding.EncodeToString(proof), nil
	default:
		c.done = true
		if strings.HasPrefix(challenge, "e=") {
			return "", fmt.Errorf("server error: %s", challenge[2:])
		}
		v, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(challenge, "v="))
		if err != nil || !hmac.Equal(v, c.serverSignature) {
			return "", errors.New("the server's signature does not verify")
		}
		return "", nil
	}
}

func (c *scramClient) Done() bool { return c.done }

func (c *scramClient) hmac(key []byte, msg string) []byte {
	m := hmac.New(c.h, key)
	m.Write([]byte(msg))
	return m.Sum(nil)
}

func (c *scramClient) sum(b []byte) []byte {
	h := c.h()
	h.Write(b)
	return h.Sum(nil)
}

// --- franz-go -----------------------------------------------------------------------

func runFranz(tlsCfg *tls.Config, values []string) ([]string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), *deadline)
	defer cancel()
	opts := []kgo.Opt{
		kgo.SeedBrokers(strings.Split(*brokers, ",")...),
		kgo.ClientID("keel-compat-secure-franz"),
		kgo.RequiredAcks(kgo.AllISRAcks()),
		kgo.RecordPartitioner(kgo.ManualPartitioner()),
		kgo.DefaultProduceTopic(*topic),
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{*topic: {0: kgo.NewOffset().AtStart()}}),
		kgo.RequestRetries(2),
	}
	if tlsCfg != nil {
		opts = append(opts, kgo.DialTLSConfig(tlsCfg))
	}
	switch *mechanism {
	case "":
	case "PLAIN":
		opts = append(opts, kgo.SASL(plain.Auth{User: *user, Pass: *password}.AsMechanism()))
	case "SCRAM-SHA-256":
		opts = append(opts, kgo.SASL(scram.Auth{User: *user, Pass: *password}.AsSha256Mechanism()))
	case "SCRAM-SHA-512":
		opts = append(opts, kgo.SASL(scram.Auth{User: *user, Pass: *password}.AsSha512Mechanism()))
	default:
		return nil, fmt.Errorf("unknown mechanism %s", *mechanism)
	}
	client, err := kgo.NewClient(opts...)
	if err != nil {
		return nil, fmt.Errorf("client: %w", err)
	}
	defer client.Close()
	// the connection's SASL exchange happens before its first request: Ping (ApiVersions
	// to a broker) reports a refused login, where ProduceSync would retry until the deadline
	if err := client.Ping(ctx); err != nil {
		return nil, fmt.Errorf("ping: %w", err)
	}
	for i, v := range values {
		r := &kgo.Record{Partition: 0, Value: []byte(v)}
		if err := client.ProduceSync(ctx, r).FirstErr(); err != nil {
			return nil, fmt.Errorf("produce record %d: %w", i, err)
		}
		if r.Partition != 0 || r.Offset < 0 {
			return nil, fmt.Errorf("record %d acknowledged at partition %d offset %d", i, r.Partition, r.Offset)
		}
	}
	var got []string
	for len(got) < len(values) {
		fetches := client.PollFetches(ctx)
		if ctx.Err() != nil {
			return got, fmt.Errorf("read %d of %d records within %s", len(got), len(values), *deadline)
		}
		if errs := fetches.Errors(); len(errs) > 0 {
			return got, fmt.Errorf("fetch: %v", errs[0].Err)
		}
		fetches.EachRecord(func(r *kgo.Record) { got = append(got, string(r.Value)) })
	}
	return got, nil
}
