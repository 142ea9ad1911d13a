//! Which origins hold the namespace's index, without visiting every origin: for each origin
//! `META:` names, a point lookup of `_<origin>\0\x01<prefix>peers:index` in the tables the
//! MANIFEST says may hold it, and in the write-ahead log for keys not yet in a table. A table
//! answers from its index block (read once, from the end of the file), its Bloom filter when it
//! has one (rusty-leveldb writes them; Chromium 156 writes none: its tables' metaindex is
//! empty), and else the first key of the one data block that could hold the key, decoded from
//! the block's first few hundred bytes (a Snappy stream starts with a literal): when that key
//! sorts after the probe, the table does not hold it. The walk this replaces reads and
//! decompresses a whole data block (often one 5-150 KB value) for every origin. The few
//! origins left are confirmed with a real lookup.
//!
//! `None` (so the caller visits every origin) when the files are not what this expects: a
//! MANIFEST that does not replay, a table or log that does not decode.

use std::collections::BTreeSet;
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::Path;

use rusty_leveldb::{DB, FilterPolicy};

use super::logcheck;
use super::raw::{self, FOOTER_LEN, MAGIC, handle};

const FILTER_NAME: &[u8] = b"filter.leveldb.BuiltinBloomFilter2";
/// How much of a table's end is read at once: its filter, metaindex and index blocks and the
/// footer usually fit.
const TAIL: u64 = 16 * 1024;
/// How much of a data block is read to learn its first key.
const HEAD: usize = 512;

/// A table's index (each data block's separator user key and offset) and its filter block.
#[derive(Default)]
struct TableProbe {
    file: Option<File>,
    /// Each data block's separator (user key, as a range of `keys`) and handle.
    separators: Vec<(std::ops::Range<usize>, (u64, u64))>,
    keys: Vec<u8>,
    /// The filter block, when the table has one (empty when not).
    filters: Vec<u8>,
    /// Where each filter starts in `filters`, and the offset array's start.
    offsets: Vec<u32>,
    base_lg: u8,
    /// Scratch space, kept from table to table.
    tail: Vec<u8>,
    block: Vec<u8>,
}

impl TableProbe {
    /// Table `number` of `dir` (`NNNNNN.ldb`, or the older `.sst`).
    fn open(dir: &Path, number: u64) -> Option<TableProbe> {
        let mut t = TableProbe::default();
        t.load(dir, number)?;
        Some(t)
    }

    /// Reads table `number` into this probe, reusing its memory.
    fn load(&mut self, dir: &Path, number: u64) -> Option<()> {
        let file = File::open(dir.join(format!("{number:06}.ldb")))
            .or_else(|_| File::open(dir.join(format!("{number:06}.sst"))))
            .ok()?;
        let len = file.metadata().ok()?.len();
        if len < FOOTER_LEN as u64 {
            return None;
        }
        let start = len.saturating_sub(TAIL);
        self.tail.resize((len - start) as usize, 0);
        file.read_exact_at(&mut self.tail, start).ok()?;
        let footer = &self.tail[self.tail.len() - FOOTER_LEN..];
        if footer[FOOTER_LEN - 8..] != MAGIC {
            return None;
        }
        let (meta, a) = handle(footer)?;
        let (index, _) = handle(&footer[a..])?;
        let (tail, block) = (&self.tail, &mut self.block);
        let read = |h: (u64, u64), out: &mut Vec<u8>| -> Option<()> {
            if h.0 >= start {
                // In the tail already read: check it as a read would.
                let from = (h.0 - start) as usize;
                let to = from.checked_add(h.1 as usize + raw::TRAILER_LEN as usize)?;
                raw::decode_block_into(tail.get(from..to)?, h, true, out).ok()
            } else {
                *out = raw::read_block(&file, h, true).ok()?;
                Some(())
            }
        };
        read(meta, block)?;
        let mut filter_handle = None;
        raw::for_each_entry(block, |k, v| {
            if k == FILTER_NAME {
                filter_handle = handle(v).map(|(h, _)| h);
            }
        })
        .ok()?;
        // The filter block: filters, their u32 offsets, the offsets' start, then base_lg.
        self.filters.clear();
        self.offsets.clear();
        if let Some(h) = filter_handle {
            read(h, &mut self.filters)?;
            let filter = &self.filters;
            let n = filter.len();
            if n < 5 {
                return None;
            }
            self.base_lg = filter[n - 1];
            let array = u32::from_le_bytes(filter[n - 5..n - 1].try_into().ok()?) as usize;
            if array > n - 5 || (n - 5 - array) % 4 != 0 {
                return None;
            }
            self.offsets.extend(
                filter[array..n - 5]
                    .chunks_exact(4)
                    .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                    .chain(std::iter::once(array as u32)),
            );
        }
        read(index, block)?;
        let (separators, keys) = (&mut self.separators, &mut self.keys);
        separators.clear();
        keys.clear();
        let mut ok = true;
        raw::for_each_entry(block, |k, v| match (k.len().checked_sub(8), handle(v)) {
            (Some(n), Some((h, _))) => {
                let start = keys.len();
                keys.extend_from_slice(&k[..n]);
                separators.push((start..keys.len(), h));
            }
            _ => ok = false,
        })
        .ok()?;
        self.file = Some(file);
        ok.then_some(())
    }

    /// Whether the table may hold `key` (false: it certainly does not); `None` when a block
    /// does not read.
    fn may_hold(&self, key: &[u8], bloom: &rusty_leveldb::BloomPolicy) -> Option<bool> {
        let i = self
            .separators
            .partition_point(|(sep, _)| &self.keys[sep.clone()] < key);
        let Some((sep, (offset, size))) = self.separators.get(i) else {
            return Some(false); // past the table's last key
        };
        let sep = &self.keys[sep.clone()];
        if !self.filters.is_empty() {
            let filters = &self.filters;
            let f = (offset >> self.base_lg) as usize;
            if let (Some(&a), Some(&b)) = (self.offsets.get(f), self.offsets.get(f + 1)) {
                if a <= b
                    && (b as usize) <= filters.len()
                    && !bloom.key_may_match(key, &filters[a as usize..b as usize])
                {
                    return Some(false);
                }
            }
        }
        if sep == key {
            return Some(true);
        }
        // The block's first key: when it sorts after `key`, so does every key of the block.
        let size = usize::try_from(*size).ok()?;
        let mut head = [0u8; HEAD];
        let n = HEAD.min(size + raw::TRAILER_LEN as usize);
        let file = self.file.as_ref()?;
        file.read_exact_at(&mut head[..n], *offset).ok()?;
        let compressed = if n == size + raw::TRAILER_LEN as usize {
            head[size] == 1
        } else {
            // The type byte is after the block: read it.
            let mut kind = [0u8; 1];
            file.read_exact_at(&mut kind, offset + size as u64).ok()?;
            kind[0] == 1
        };
        let plain;
        let data: &[u8] = if compressed {
            plain = snappy_prefix(&head[..n.min(size)], 256)?;
            &plain
        } else {
            &head[..n.min(size)]
        };
        Some(match first_key(data) {
            Some(first) => user_key(&first) <= key,
            None => true, // not in the bytes read: ask the database
        })
    }
}

/// The first key of a block whose first bytes are `data` (the first entry shares nothing).
fn first_key(data: &[u8]) -> Option<Vec<u8>> {
    let (shared, a) = raw::varint(data)?;
    let (unshared, b) = raw::varint(&data[a..])?;
    let (_, c) = raw::varint(&data[a + b..])?;
    if shared != 0 {
        return None;
    }
    let start = a + b + c;
    data.get(start..start.checked_add(unshared as usize)?)
        .map(<[u8]>::to_vec)
}

/// The first `want` bytes (or more, or fewer when the prefix ends first) a Snappy raw stream
/// decodes to, from a prefix of it. The `snap` crate decodes whole streams only; this reads the
/// same format (a length varint, then literals and back-references into the output so far) and
/// stops early. `None` for a back-reference before the start: not Snappy.
fn snappy_prefix(input: &[u8], want: usize) -> Option<Vec<u8>> {
    let (_, mut pos) = raw::varint(input)?;
    let mut out: Vec<u8> = Vec::with_capacity(want + 64);
    while out.len() < want && pos < input.len() {
        let tag = input[pos];
        pos += 1;
        let (len, offset) = match tag & 3 {
            0 => {
                let mut len = usize::from(tag >> 2) + 1;
                if len > 60 {
                    let n = len - 60;
                    let Some(bytes) = input.get(pos..pos + n) else {
                        break; // the length goes on past the bytes read
                    };
                    len = bytes
                        .iter()
                        .rev()
                        .fold(0usize, |acc, b| (acc << 8) | usize::from(*b))
                        + 1;
                    pos += n;
                }
                let available = input.len().saturating_sub(pos).min(len);
                out.extend_from_slice(&input[pos..pos + available]);
                if available < len {
                    break; // the literal goes on past the bytes read
                }
                pos += len;
                continue;
            }
            1 => {
                let Some(&b) = input.get(pos) else { break };
                let b = usize::from(b);
                pos += 1;
                (
                    usize::from((tag >> 2) & 7) + 4,
                    (usize::from(tag >> 5) << 8) | b,
                )
            }
            2 => {
                let Some(b) = input.get(pos..pos + 2) else {
                    break;
                };
                pos += 2;
                (
                    usize::from(tag >> 2) + 1,
                    usize::from(u16::from_le_bytes([b[0], b[1]])),
                )
            }
            _ => {
                let Some(b) = input.get(pos..pos + 4) else {
                    break;
                };
                pos += 4;
                (
                    usize::from(tag >> 2) + 1,
                    u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize,
                )
            }
        };
        if offset == 0 || offset > out.len() {
            return None;
        }
        for _ in 0..len {
            out.push(out[out.len() - offset]);
        }
    }
    Some(out)
}

fn user_key(ikey: &[u8]) -> &[u8] {
    &ikey[..ikey.len().saturating_sub(8)]
}

/// The tables' probes, read once each.
struct Tables<'d> {
    dir: &'d Path,
    loaded: std::collections::HashMap<u64, TableProbe>,
}

impl Tables<'_> {
    fn get(&mut self, number: u64) -> Option<&TableProbe> {
        if !self.loaded.contains_key(&number) {
            self.loaded
                .insert(number, TableProbe::open(self.dir, number)?);
        }
        self.loaded.get(&number)
    }
}

/// Every user key under `prefix` the table's data blocks hold (puts and deletions alike).
fn keys_under(table: &TableProbe, prefix: &[u8], out: &mut BTreeSet<Vec<u8>>) -> Option<()> {
    let mut low: Option<&[u8]> = None;
    for (sep, h) in &table.separators {
        let high = &table.keys[sep.clone()];
        let may = high >= prefix && low.is_none_or(|l| l <= prefix || l.starts_with(prefix));
        if may {
            let block = raw::read_block(table.file.as_ref()?, *h, true).ok()?;
            raw::for_each_entry(&block, |k, _| {
                let user = user_key(k);
                if user.starts_with(prefix) {
                    out.insert(user.to_vec());
                }
            })
            .ok()?;
        }
        if high > prefix && !high.starts_with(prefix) {
            break;
        }
        low = Some(high);
    }
    Some(())
}

/// The origins whose `_<origin>\0<key>` exists (`key` encoded, format byte first), found as
/// described above; `None` when the files do not allow it.
pub fn holders(dir: &Path, db: &mut DB, key: &[u8]) -> Option<Vec<String>> {
    Some(confirm(db, key, candidates(dir, key)?))
}

/// The keys `_<origin>\0<key>` the files may hold: every one they hold, and perhaps a few more
/// (a filter's false positive, a later deletion). Reads only the files, not the database, so it
/// can run while the database opens.
pub fn candidates(dir: &Path, key: &[u8]) -> Option<BTreeSet<Vec<u8>>> {
    let current = std::fs::read_to_string(dir.join("CURRENT")).ok()?;
    let manifest = std::fs::read(dir.join(current.trim_end())).ok()?;
    let state = logcheck::manifest_state(&manifest)?;
    let mut candidates: BTreeSet<Vec<u8>> = BTreeSet::new();
    let mut metas: BTreeSet<Vec<u8>> = BTreeSet::new();
    // The logs not yet moved into a table: META keys, and probe keys as they are.
    let log_number = state.log_number.unwrap_or(0);
    for entry in std::fs::read_dir(dir).ok()?.flatten() {
        let name = entry.file_name();
        let Some(number) = name
            .to_str()
            .and_then(|n| n.strip_suffix(".log"))
            .and_then(|n| n.parse::<u64>().ok())
        else {
            continue;
        };
        if number < log_number {
            continue;
        }
        let bytes = std::fs::read(entry.path()).ok()?;
        let (records, bad) = logcheck::records_tolerant(&bytes);
        if !bad.is_empty() {
            return None;
        }
        for (_, record) in records {
            let (_, entries) = logcheck::batch_entries(&record)?;
            for (_, k, _) in entries {
                if k.starts_with(b"META:") {
                    metas.insert(k.to_vec());
                } else if k.first() == Some(&b'_')
                    && k.ends_with(key)
                    && k.get((k.len() - key.len()).wrapping_sub(1)) == Some(&0)
                {
                    candidates.insert(k.to_vec());
                }
            }
        }
    }
    // The META keys of the tables whose range covers them.
    let mut tables = Tables {
        dir,
        loaded: std::collections::HashMap::new(),
    };
    for meta in &state.tables {
        let (lo, hi) = (user_key(&meta.smallest), user_key(&meta.largest));
        if hi >= b"META:".as_slice() && (lo < b"META;".as_slice()) {
            keys_under(tables.get(meta.number)?, b"META:", &mut metas)?;
        }
    }
    // Each table asked for the probe keys within its range, the tables shared between two
    // threads (reading a table's index is most of the cost).
    let mut keys: Vec<Vec<u8>> = metas
        .iter()
        .map(|m| [b"_".as_slice(), &m[5..], b"\0", key].concat())
        .filter(|k| !candidates.contains(k))
        .collect();
    keys.sort();
    let probe_tables = |share: usize, of: usize| -> Option<Vec<usize>> {
        let bloom = rusty_leveldb::BloomPolicy::new(10);
        let mut found = Vec::new();
        let mut table = TableProbe::default();
        for meta in state.tables.iter().skip(share).step_by(of) {
            let lo = keys.partition_point(|k| k.as_slice() < user_key(&meta.smallest));
            let hi = keys.partition_point(|k| k.as_slice() <= user_key(&meta.largest));
            if lo == hi {
                continue;
            }
            table.load(dir, meta.number)?;
            for (i, k) in keys.iter().enumerate().take(hi).skip(lo) {
                if table.may_hold(k, &bloom)? {
                    found.push(i);
                }
            }
        }
        Some(found)
    };
    let (first, second) = std::thread::scope(|scope| {
        let other = scope.spawn(|| probe_tables(1, 2));
        (probe_tables(0, 2), other.join().ok().flatten())
    });
    let mut maybe = vec![false; keys.len()];
    for i in first?.into_iter().chain(second?) {
        maybe[i] = true;
    }
    candidates.extend(
        keys.into_iter()
            .zip(maybe)
            .filter_map(|(k, m)| m.then_some(k)),
    );
    Some(candidates)
}

/// The origins of the `candidates` the database holds, confirmed with real lookups.
pub fn confirm(db: &mut DB, key: &[u8], candidates: BTreeSet<Vec<u8>>) -> Vec<String> {
    let mut out = Vec::new();
    for k in candidates {
        if db.get(&k).is_some() {
            let origin = &k[1..k.len() - key.len() - 1];
            out.push(String::from_utf8_lossy(origin).into_owned());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use rusty_leveldb::Options;

    #[test]
    fn a_snappy_prefix_decodes_to_the_start_of_what_snap_decodes() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(15);
        for _ in 0..500 {
            // Random runs and repeats of earlier bytes: literals and every kind of copy.
            let len = rng.random_range(0..6000);
            let mut data: Vec<u8> = Vec::with_capacity(len);
            while data.len() < len {
                if data.len() > 4 && rng.random_bool(0.5) {
                    let from = rng.random_range(0..data.len());
                    let n = rng.random_range(1..300).min(data.len() - from);
                    data.extend_from_within(from..from + n);
                } else {
                    let n = rng.random_range(1..120);
                    data.extend((0..n).map(|_| rng.random_range(b'a'..=b'f')));
                }
            }
            let stream = snap::raw::Encoder::new().compress_vec(&data).unwrap();
            let want = rng.random_range(0..700);
            let cut = rng.random_range(stream.len().min(5)..=stream.len());
            let got = snappy_prefix(&stream[..cut], want).unwrap();
            assert!(data.starts_with(&got), "not a prefix of the data");
            if cut == stream.len() {
                assert!(got.len() >= want.min(data.len()), "stopped early");
            }
        }
        // A back-reference before the start is not Snappy.
        assert_eq!(snappy_prefix(&[10, 0b0000_0001, 5], 10), None);
    }

    const INDEX: &[u8] = b"\x01mesh:peers:index";

    /// Tables without a filter block, as Chromium writes them.
    struct NoFilter;

    impl FilterPolicy for NoFilter {
        fn name(&self) -> &'static str {
            "none"
        }
        fn create_filter(&self, _: &[u8], _: &[usize]) -> Vec<u8> {
            Vec::new()
        }
        fn key_may_match(&self, _: &[u8], _: &[u8]) -> bool {
            true
        }
    }

    fn origin(i: usize) -> String {
        format!("https://site{i:04}.example")
    }

    fn data_key(i: usize, key: &[u8]) -> Vec<u8> {
        [b"_", origin(i).as_bytes(), b"\0", key].concat()
    }

    /// A profile of `n` origins, each with its META key and a large value, the ones in
    /// `holding` with an index; written then compacted into several tables, after which
    /// `late` gains an index only in the log and `deleted` loses its index in the log.
    fn profile(
        dir: &Path,
        opts: Options,
        n: usize,
        holding: &[usize],
        late: &[usize],
        deleted: &[usize],
    ) {
        let mut db = DB::open(dir, opts.clone()).unwrap();
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(n as u64);
        for i in 0..n {
            let value: Vec<u8> = (0..rng.random_range(100..9000))
                .map(|_| rng.random_range(b'0'..=b'9'))
                .collect();
            // A large value before the index (even origins: the index starts a block) or after it.
            let name: &[u8] = if i % 2 == 0 { b"\x01aaa" } else { b"\x01other" };
            db.put(&data_key(i, name), &value).unwrap();
            db.put(&data_key(i, b"\x01zzz"), b"\x01z").unwrap();
            if holding.contains(&i) {
                db.put(&data_key(i, INDEX), b"\x01[]").unwrap();
            }
            db.put(format!("META:{}", origin(i)).as_bytes(), b"\x08\x01")
                .unwrap();
        }
        db.compact_range(b"\x00", b"\xff").unwrap();
        for &i in late {
            db.put(&data_key(i, INDEX), b"\x01[]").unwrap();
        }
        for &i in deleted {
            db.delete(&data_key(i, INDEX)).unwrap();
        }
        db.close().unwrap();
    }

    fn found(dir: &Path) -> Vec<usize> {
        let mut db = DB::open(dir, Options::default()).unwrap();
        let names = holders(dir, &mut db, INDEX).expect("the files are as expected");
        let mut walked = walk_index(&mut db);
        walked.sort();
        let idx: Vec<usize> = names
            .iter()
            .map(|o| (0..10_000).find(|i| &origin(*i) == o).unwrap())
            .collect();
        assert_eq!(
            idx, walked,
            "the fast answer differs from a walk of every key"
        );
        idx
    }

    fn walk_index(db: &mut DB) -> Vec<usize> {
        (0..300)
            .filter(|i| db.get(&data_key(*i, INDEX)).is_some())
            .collect()
    }

    #[test]
    fn holders_are_the_origins_a_walk_finds_with_and_without_filters_and_compression() {
        for (filter, compressor) in [(true, 0u8), (false, 1), (true, 1), (false, 0)] {
            let tmp = tempfile::tempdir().unwrap();
            let dir = tmp.path().join("leveldb");
            let opts = Options {
                create_if_missing: true,
                max_file_size: 256 * 1024,
                write_buffer_size: 128 * 1024,
                compressor,
                filter_policy: if filter {
                    std::rc::Rc::new(Box::new(rusty_leveldb::BloomPolicy::new(10)))
                } else {
                    std::rc::Rc::new(Box::new(NoFilter))
                },
                ..Options::default()
            };
            profile(&dir, opts, 300, &[0, 7, 150, 299], &[42], &[7]);
            let tables = std::fs::read_dir(&dir)
                .unwrap()
                .filter(|e| e.as_ref().unwrap().path().extension() == Some("ldb".as_ref()))
                .count();
            assert!(
                tables > 3,
                "the profile should span several tables, not {tables}"
            );
            assert_eq!(
                found(&dir),
                vec![0, 42, 150, 299],
                "filter {filter}, compressor {compressor}"
            );
        }
    }

    #[test]
    fn one_holder_and_none_are_found_too() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("one");
        profile(&dir, Options::default(), 40, &[13], &[], &[]);
        assert_eq!(found(&dir), vec![13]);
        let dir = tmp.path().join("none");
        profile(&dir, Options::default(), 40, &[13], &[], &[13]);
        assert_eq!(found(&dir), Vec::<usize>::new());
    }

    #[test]
    fn files_not_as_expected_give_none_so_the_caller_walks() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("leveldb");
        profile(&dir, Options::default(), 40, &[3], &[5], &[]);
        let mut db = DB::open(&dir, Options::default()).unwrap();
        std::fs::write(dir.join("CURRENT"), "MANIFEST-999999\n").unwrap();
        assert_eq!(holders(&dir, &mut db, INDEX), None);
    }
}
