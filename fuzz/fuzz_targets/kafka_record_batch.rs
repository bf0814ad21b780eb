//! Record batch parsing: splitting concatenated v2 batches, header parsing, CRC
//! checks, the kafka-protocol record decoder the group coordinator loads with,
//! and `Partition::append_from_client` (the produce path's validation and
//! append) into a scratch partition on disk.
//!
//! Input layout: byte 0 is a control byte, the rest are the records bytes.
//! - bit 0: recompute every batch's CRC first, so the fuzzer reaches past the
//!   CRC check into the append path;
//! - bit 1: the topic uses LogAppendTime;
//! - bit 2: a tiny `max.message.bytes`;
//! - bit 3: the topic is compacted (records are decompressed and need keys).
//!
//! Every batch's records are also decoded (decompressing any codec, bounded) and
//! rebuilt as the log cleaner does; a rebuilt batch must parse, pass its CRC and
//! decode to the same records.
#![no_main]

use std::cell::RefCell;
use std::path::PathBuf;

use bytes::Bytes;
use keel::kafka::log::batch::{self, BatchHeader};
use keel::kafka::log::records;
use keel::kafka::log::checkpoint::TopicPartition;
use keel::kafka::log::partition::LogSettings;
use keel::kafka::metadata::TopicId;
use keel::kafka::replica::{Partition, ProduceLimits};
use libfuzzer_sys::fuzz_target;

/// Appends before the scratch partition is deleted and opened afresh, so the
/// disk use of a long run stays small.
const APPENDS_PER_PARTITION: u32 = 500;

struct Scratch {
    dir: PathBuf,
    partition: Option<Partition>,
    appends: u32,
    opened: u32,
}

impl Scratch {
    fn partition(&mut self) -> &Partition {
        if self.appends >= APPENDS_PER_PARTITION {
            if let Some(old) = self.partition.take() {
                let _ = old.delete();
            }
            self.appends = 0;
        }
        if self.partition.is_none() {
            self.opened += 1;
            let settings = LogSettings {
                // Small segments and a dense index: rolls and index entries happen.
                segment_bytes: 4096,
                index_interval_bytes: 128,
                ..LogSettings::default()
            };
            let (partition, _) = Partition::open(
                &self.dir,
                TopicPartition::new("fuzz", self.opened as i32),
                TopicId::ZERO,
                settings,
                0,
                0,
            )
            .expect("open the scratch partition");
            self.partition = Some(partition);
        }
        self.appends += 1;
        self.partition.as_ref().expect("opened above")
    }
}

thread_local! {
    static SCRATCH: RefCell<Scratch> = RefCell::new(Scratch {
        dir: std::env::temp_dir().join(format!("keel-fuzz-batch-{}", std::process::id())),
        partition: None,
        appends: 0,
        opened: 0,
    });
}

/// Recomputes the CRC of every whole batch in `records`, in place.
fn fix_crcs(records: &mut [u8]) {
    let mut position = 0;
    while let Ok(header) = BatchHeader::parse(&records[position..]) {
        let end = position + header.total_bytes();
        if end > records.len() {
            break;
        }
        let crc = crc32c(&records[position + 21..end]);
        records[position + 17..position + 21].copy_from_slice(&crc.to_be_bytes());
        position = end;
    }
}

/// CRC-32C (Castagnoli), bitwise: no extra dependency for a fuzz helper.
fn crc32c(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &byte in bytes {
        crc ^= byte as u32;
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0x82F6_3B78
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

fuzz_target!(|data: &[u8]| {
    let Some((&control, records)) = data.split_first() else {
        return;
    };
    let mut records = records.to_vec();
    if control & 1 != 0 {
        fix_crcs(&mut records);
    }

    // The pure parts.
    let _ = BatchHeader::parse(&records);
    let _ = batch::verify_crc(&records);
    let mut iter = batch::split_batches(&records);
    for item in iter.by_ref() {
        let Ok((header, bytes)) = item else { continue };
        let _ = header.compression();
        let _ = header.last_offset();
        let _ = header.is_log_append_time();
        let _ = batch::verify_crc(bytes);
        if let Ok(section) = records::records_section(&header, bytes) {
            if let Ok(decoded) = records::decode(&header, &section) {
                let rebuilt = records::rebuild(&header, &decoded, None)
                    .expect("decoded records rebuild in their own codec");
                let new_header = BatchHeader::parse(&rebuilt).expect("a rebuilt batch parses");
                batch::verify_crc(&rebuilt).expect("a rebuilt batch has a valid CRC");
                let new_section = records::records_section(&new_header, &rebuilt)
                    .expect("a rebuilt batch decompresses");
                let again = records::decode(&new_header, &new_section)
                    .expect("a rebuilt batch decodes");
                assert_eq!(again, decoded);
            }
        }
    }
    assert!(iter.position() <= records.len());

    // What the group coordinator's load runs over stored batches.
    let mut buffer = Bytes::copy_from_slice(&records);
    let _ = kafka_protocol::records::RecordBatchDecoder::decode_all(&mut buffer);

    // The produce path.
    let limits = ProduceLimits {
        batch_bytes_max: if control & 4 != 0 { 100 } else { 1_048_588 },
        log_append_time: control & 2 != 0,
        compacted: control & 8 != 0,
    };
    SCRATCH.with(|scratch| {
        let mut scratch = scratch.borrow_mut();
        let partition = scratch.partition();
        if partition
            .append_from_client(&records, limits, 1_700_000_000_000)
            .is_ok()
        {
            let offsets = partition.offsets();
            let _ = partition.read(offsets.log_start_offset, 1 << 16, true);
            let _ = partition.max_timestamp();
        }
    });
});
