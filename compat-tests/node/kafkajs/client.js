// kafkajs: KafkaJS against one Kafka. The admin client creates a topic, a producer writes
// keyed records (the first half uncompressed, the second half GZIP-compressed), a group
// consumer reads each record once and commits, the admin client checks the committed
// offsets against the end offsets, describes the group (Empty once its member left) and
// deletes the topic.
//
//   node client.js --brokers 127.0.0.1:9092 --topic T --group G --records 600 --partitions 3 --timeout 120
//
// Prints one summary line and exits 0, or exits 1 with the client's error.
'use strict';

// KafkaJS 2.x prints a notice about its default partitioner at every producer start.
process.env.KAFKAJS_NO_PARTITIONER_WARNING = '1';

const { Kafka, CompressionTypes, logLevel } = require('kafkajs');

function args(argv) {
  const out = { brokers: '127.0.0.1:9092', records: 600, partitions: 3, timeout: 120 };
  for (let i = 0; i < argv.length; i += 2) {
    const k = argv[i].replace(/^--/, '');
    if (!(k in out) && !['topic', 'group'].includes(k)) fail(`unknown option ${argv[i]}`);
    out[k] = typeof out[k] === 'number' ? Number(argv[i + 1]) : argv[i + 1];
  }
  if (!out.topic || !out.group) fail('--topic and --group are required');
  return out;
}

function fail(msg, err) {
  let text = `kafkajs: ${msg}`;
  if (err) {
    text += `: ${err.name || 'Error'}: ${err.message}`;
    if (err.type) text += ` (${err.type})`;
    if (err.cause) text += ` caused by ${err.cause.name}: ${err.cause.message}`;
  }
  process.stderr.write(text + '\n');
  if (err && err.stack) process.stderr.write(err.stack + '\n');
  process.exit(1);
}

// step NAME PROMISE: the promise's value, or exit with NAME and the client's error.
async function step(name, promise) {
  try {
    return await promise;
  } catch (err) {
    fail(name, err);
  }
}

async function main() {
  const opt = args(process.argv.slice(2));
  const timer = setTimeout(() => fail(`not done within ${opt.timeout}s`), opt.timeout * 1000);
  const kafka = new Kafka({
    clientId: 'keel-compat-kafkajs',
    brokers: opt.brokers.split(','),
    logLevel: logLevel.WARN,
  });

  // --- admin: create the topic ---
  const admin = kafka.admin();
  await step('admin connect', admin.connect());
  const created = await step('create topic', admin.createTopics({
    topics: [{ topic: opt.topic, numPartitions: opt.partitions, replicationFactor: 1 }],
    waitForLeaders: true,
  }));
  if (created !== true) fail(`create topic ${opt.topic}: createTopics returned ${created} (it existed already)`);
  const meta = await step('fetch topic metadata', admin.fetchTopicMetadata({ topics: [opt.topic] }));
  const parts = meta.topics[0].partitions;
  if (parts.length !== opt.partitions) fail(`topic ${opt.topic} has ${parts.length} partitions, want ${opt.partitions}`);
  for (const p of parts) {
    if (p.leader < 0 || p.partitionErrorCode !== 0) fail(`partition ${p.partitionId} has no leader (error code ${p.partitionErrorCode})`);
  }

  // --- produce: keyed records, half of them GZIP-compressed, acks=all ---
  const producer = kafka.producer();
  await step('producer connect', producer.connect());
  const half = Math.floor(opt.records / 2);
  const chunk = 100;
  for (let start = 0; start < opt.records; start += chunk) {
    const messages = [];
    for (let i = start; i < Math.min(start + chunk, opt.records); i++) {
      messages.push({ key: `key-${i % 37}`, value: `value-${i}`, headers: { n: String(i) } });
    }
    const gzip = start >= half;
    const meta = await step(`produce records ${start}..${start + messages.length - 1}${gzip ? ' (gzip)' : ''}`,
      producer.send({
        topic: opt.topic,
        acks: -1,
        compression: gzip ? CompressionTypes.GZIP : CompressionTypes.None,
        messages,
      }));
    for (const m of meta) {
      if (m.errorCode !== 0) fail(`produce: partition ${m.partition} error code ${m.errorCode}`);
    }
  }
  await step('producer disconnect', producer.disconnect());

  // --- consume in a group from the start, commit once everything is read, leave ---
  const consumer = kafka.consumer({ groupId: opt.group });
  await step('consumer connect', consumer.connect());
  await step('subscribe', consumer.subscribe({ topics: [opt.topic], fromBeginning: true }));
  const seen = new Set();
  const perPartition = new Map(); // partition -> records consumed from it
  const last = new Map(); // partition -> last offset consumed
  let crash = null;
  let resolveDone;
  const done = new Promise((resolve) => { resolveDone = resolve; });
  consumer.on(consumer.events.CRASH, (e) => { crash = e.payload.error; resolveDone(); });
  await step('consumer run', consumer.run({
    autoCommit: false,
    eachMessage: async ({ partition, message }) => {
      const offset = Number(message.offset);
      if (last.has(partition) && offset <= last.get(partition)) {
        fail(`partition ${partition} went back from offset ${last.get(partition)} to ${offset}`);
      }
      last.set(partition, offset);
      const v = message.value.toString();
      if (seen.has(v)) fail(`record ${v} consumed twice`);
      const n = Number(message.headers.n && message.headers.n.toString());
      if (v !== `value-${n}` || message.key.toString() !== `key-${n % 37}`) {
        fail(`record at partition ${partition} offset ${offset}: key ${message.key} value ${v} header n=${n} do not match`);
      }
      seen.add(v);
      perPartition.set(partition, (perPartition.get(partition) || 0) + 1);
      if (seen.size === opt.records) resolveDone();
    },
  }));
  await done;
  if (crash) fail(`consumer crashed after ${seen.size} of ${opt.records} records`, crash);
  await step('commit offsets', consumer.commitOffsets(
    [...last].map(([partition, offset]) => ({ topic: opt.topic, partition, offset: String(offset + 1) }))));
  await step('consumer disconnect', consumer.disconnect()); // leaves the group

  // --- admin: committed offsets = end offsets, group Empty, delete ---
  const ends = await step('fetch topic offsets', admin.fetchTopicOffsets(opt.topic));
  const committed = await step('fetch committed offsets', admin.fetchOffsets({ groupId: opt.group, topics: [opt.topic] }));
  const byPartition = new Map(committed[0].partitions.map((p) => [p.partition, Number(p.offset)]));
  let total = 0;
  const mismatch = [];
  for (const e of ends) {
    total += Number(e.high);
    if (byPartition.get(e.partition) !== Number(e.high)) {
      mismatch.push(`p${e.partition} committed ${byPartition.get(e.partition)} end ${e.high}`);
    }
  }
  if (ends.length !== opt.partitions || total !== opt.records || mismatch.length) {
    fail(`offsets: ${ends.length} partitions, end offsets sum to ${total} (want ${opt.records}); ${mismatch.join(', ')}`);
  }
  if (perPartition.size !== opt.partitions) fail(`records landed in ${perPartition.size} of ${opt.partitions} partitions`);
  const groups = await step('describe group', admin.describeGroups([opt.group]));
  const g = groups.groups[0];
  if (!g || g.errorCode !== 0) fail(`describe group ${opt.group}: error code ${g && g.errorCode}`);
  if (g.state !== 'Empty') fail(`group ${opt.group} is ${g.state} after its only member left, want Empty`);
  await step('delete topic', admin.deleteTopics({ topics: [opt.topic] }));
  let gone = false;
  for (let i = 0; i < 30 && !gone; i++) {
    const topics = await step('list topics', admin.listTopics());
    gone = !topics.includes(opt.topic);
    if (!gone) await new Promise((r) => setTimeout(r, 500));
  }
  if (!gone) fail(`topic ${opt.topic} still listed 15s after its deletion`);
  await step('admin disconnect', admin.disconnect());
  clearTimeout(timer);

  const spread = [...perPartition].sort((a, b) => a[0] - b[0]).map(([p, n]) => `p${p}:${n}`).join(' ');
  console.log(`${opt.records} keyed records over ${opt.partitions} partitions (${spread}), ${opt.records - half} of them gzip, ` +
    `consumed once each in group ${opt.group}, committed = end offsets, group Empty, topic deleted`);
}

main().catch((err) => fail('unexpected', err));
