//! A copy-on-write file environment for rusty-leveldb: reads go to the database's own files,
//! everything the library writes (info log rotation, log and manifest appends, compaction
//! output, deletes, renames, the lock) stays in memory. Opening a user's profile through it
//! never changes a byte on disk, and costs only the blocks actually read.
//!
//! Every path is reduced to its file name: rusty-leveldb names some files by the path it was
//! given and others by a joined path, and a database is one flat directory.
//!
//! rusty-leveldb's iterators skip a table block that fails its checksum, and stop at a table
//! they cannot open, without a word: a damaged profile would read as a smaller (or empty)
//! one. So the environment checks every table read itself (footer magic, block checksum,
//! short reads, missing tables) and records what it finds in `ReadFaults`, which the caller
//! turns into an error naming the file and the block.

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::rc::Rc;

use rusty_leveldb::env::{Env, FileLock, Logger, RandomAccess};
use rusty_leveldb::{Result, Status, StatusCode};

/// A file held in memory, shared by its readers and writers.
#[derive(Clone, Default)]
struct MemFile(Rc<RefCell<Vec<u8>>>);

impl RandomAccess for MemFile {
    fn read_at(&self, off: usize, dst: &mut [u8]) -> Result<usize> {
        let buf = self.0.borrow();
        if off >= buf.len() {
            return Ok(0);
        }
        let n = dst.len().min(buf.len() - off);
        dst[..n].copy_from_slice(&buf[off..off + n]);
        Ok(n)
    }
}

struct MemReader {
    file: MemFile,
    pos: usize,
}

impl Read for MemReader {
    fn read(&mut self, dst: &mut [u8]) -> io::Result<usize> {
        let n = self
            .file
            .read_at(self.pos, dst)
            .map_err(|e| io::Error::other(e.err))?;
        self.pos += n;
        Ok(n)
    }
}

struct MemWriter(MemFile);

impl Write for MemWriter {
    fn write(&mut self, src: &[u8]) -> io::Result<usize> {
        self.0.0.borrow_mut().extend_from_slice(src);
        Ok(src.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// A damaged or missing part of the database met while reading.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReadFault {
    /// The file's name inside the database directory.
    pub file: String,
    pub problem: String,
    /// The file is listed by the database but absent: a running browser may have just
    /// compacted it away, so a fresh open may succeed.
    pub missing: bool,
}

/// The faults met so far, shared by the environment and the files it opened.
#[derive(Clone, Default)]
pub struct ReadFaults(Rc<RefCell<Vec<ReadFault>>>);

/// Damaged write-ahead logs met while opening: (file name, damage). The library reads on
/// past them, so they are not read errors; the store reports them and refuses to write.
#[derive(Clone, Default)]
pub struct LogDamages(Rc<RefCell<Vec<(String, super::logcheck::LogDamage)>>>);

impl LogDamages {
    pub fn list(&self) -> Vec<(String, super::logcheck::LogDamage)> {
        self.0.borrow().clone()
    }
}

impl ReadFaults {
    fn push(&self, file: &str, problem: String, missing: bool) {
        let mut faults = self.0.borrow_mut();
        if !faults
            .iter()
            .any(|f| f.file == file && f.problem == problem)
        {
            faults.push(ReadFault {
                file: file.to_owned(),
                problem,
                missing,
            });
        }
    }

    /// The faults met since the last call, oldest first.
    pub fn take(&self) -> Vec<ReadFault> {
        std::mem::take(&mut *self.0.borrow_mut())
    }
}

fn is_table(name: &str) -> bool {
    name.ends_with(".ldb") || name.ends_with(".sst")
}

/// LevelDB's table footer: two block handles padded to 40 bytes, then the magic number.
const FOOTER_LEN: usize = 48;
const TABLE_MAGIC: [u8; 8] = 0xdb47_7524_8b80_fb57_u64.to_le_bytes();
/// A block's trailer: the compression type byte and a masked CRC-32C of data and type.
const TRAILER_LEN: usize = 5;

fn unmask_crc(masked: u32) -> u32 {
    let rot = masked.wrapping_sub(0xa282_ead8);
    rot.rotate_left(15)
}

/// Whether `block` (data, type byte, masked CRC) carries a matching checksum.
fn block_verifies(data: &[u8], trailer: &[u8]) -> bool {
    let stored = u32::from_le_bytes([trailer[1], trailer[2], trailer[3], trailer[4]]);
    crc32c::crc32c_append(crc32c::crc32c(data), &trailer[..1]) == unmask_crc(stored)
}

/// An original table file whose reads are checked as the library makes them. Every read
/// rusty-leveldb makes of a table is the footer, a block with its trailer, or a filter block
/// without it (whose trailer then follows in the file).
struct CheckedTable {
    file: File,
    name: String,
    size: usize,
    faults: ReadFaults,
}

impl CheckedTable {
    fn read_full(&self, off: usize, dst: &mut [u8]) -> io::Result<usize> {
        use std::os::unix::fs::FileExt;
        let mut n = 0;
        while n < dst.len() {
            match FileExt::read_at(&self.file, &mut dst[n..], (off + n) as u64) {
                Ok(0) => break,
                Ok(k) => n += k,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(n)
    }

    fn fault(&self, problem: String) -> Status {
        let status = Status::new(StatusCode::Corruption, &format!("{}: {problem}", self.name));
        self.faults.push(&self.name, problem, false);
        status
    }
}

impl RandomAccess for CheckedTable {
    fn read_at(&self, off: usize, dst: &mut [u8]) -> Result<usize> {
        let n = self.read_full(off, dst)?;
        let len = dst.len();
        if len == FOOTER_LEN && off + len == self.size {
            if dst[FOOTER_LEN - 8..] != TABLE_MAGIC {
                return Err(self.fault(format!(
                    "the table footer is damaged (no table magic number at the end of its {} bytes: truncated, or bytes appended)",
                    self.size
                )));
            }
            return Ok(n);
        }
        if n < len {
            return Err(self.fault(format!(
                "truncated: the block at offset {off} ({len} bytes) ends past the end of the file ({} bytes)",
                self.size
            )));
        }
        if len > TRAILER_LEN && block_verifies(&dst[..len - TRAILER_LEN], &dst[len - TRAILER_LEN..])
        {
            return Ok(n);
        }
        // A filter block is read without its trailer: check it against the bytes after it.
        let mut trailer = [0u8; TRAILER_LEN];
        if self.read_full(off + len, &mut trailer)? == TRAILER_LEN && block_verifies(dst, &trailer)
        {
            return Ok(n);
        }
        Err(self.fault(format!(
            "the block at offset {off} ({len} bytes) fails its checksum"
        )))
    }
}

#[derive(Default)]
struct Overlay {
    /// Files written (or copied for appending) in memory, by file name.
    files: HashMap<String, MemFile>,
    /// Original files the library deleted or renamed away.
    hidden: HashSet<String>,
}

/// The environment; cheap to clone into `Options` (state is shared).
#[derive(Clone)]
pub struct CowEnv {
    dir: PathBuf,
    overlay: Rc<RefCell<Overlay>>,
    faults: ReadFaults,
    logs: LogDamages,
}

fn name_of(p: &Path) -> Result<String> {
    p.file_name()
        .and_then(|n| n.to_str())
        .map(str::to_owned)
        .ok_or_else(|| Status::new(StatusCode::InvalidArgument, "path without a file name"))
}

impl CowEnv {
    pub fn new(dir: &Path) -> CowEnv {
        CowEnv {
            dir: dir.to_path_buf(),
            overlay: Rc::default(),
            faults: ReadFaults::default(),
            logs: LogDamages::default(),
        }
    }

    /// The damaged logs this environment's opens met.
    pub fn log_damages(&self) -> LogDamages {
        self.logs.clone()
    }

    /// What the library wrote to its info log (`LOG`, kept in memory): it names the files
    /// a failed open missed.
    pub fn log_text(&self) -> String {
        self.overlay
            .borrow()
            .files
            .get("LOG")
            .map_or_else(String::new, |f| {
                String::from_utf8_lossy(&f.0.borrow()).into_owned()
            })
    }

    /// The faults this environment's reads meet.
    pub fn faults(&self) -> ReadFaults {
        self.faults.clone()
    }

    fn original(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    fn is_dir(&self, p: &Path) -> bool {
        p == self.dir || p.file_name().is_none()
    }

    /// The bytes of a file as the library sees it (overlay first, then the original).
    fn read_all(&self, name: &str) -> Result<Vec<u8>> {
        if let Some(f) = self.overlay.borrow().files.get(name) {
            return Ok(f.0.borrow().clone());
        }
        if self.overlay.borrow().hidden.contains(name) {
            return Err(not_found(name));
        }
        Ok(std::fs::read(self.original(name))?)
    }
}

fn not_found(name: &str) -> Status {
    Status::new(StatusCode::NotFound, &format!("{name}: no such file"))
}

impl Env for CowEnv {
    fn open_sequential_file(&self, p: &Path) -> Result<Box<dyn Read>> {
        let name = name_of(p)?;
        let ov = self.overlay.borrow();
        if let Some(f) = ov.files.get(&name) {
            return Ok(Box::new(MemReader {
                file: f.clone(),
                pos: 0,
            }));
        }
        if ov.hidden.contains(&name) {
            return Err(not_found(&name));
        }
        if name.ends_with(".log") {
            // Read once, checked, then handed over from memory.
            let bytes = std::fs::read(self.original(&name))?;
            if let Some(damage) = super::logcheck::check(&bytes) {
                let mut logs = self.logs.0.borrow_mut();
                if !logs.iter().any(|(n, _)| *n == name) {
                    logs.push((name.clone(), damage));
                }
            }
            return Ok(Box::new(io::Cursor::new(bytes)));
        }
        Ok(Box::new(File::open(self.original(&name))?))
    }

    fn open_random_access_file(&self, p: &Path) -> Result<Box<dyn RandomAccess>> {
        let name = name_of(p)?;
        let ov = self.overlay.borrow();
        if let Some(f) = ov.files.get(&name) {
            return Ok(Box::new(f.clone()));
        }
        if ov.hidden.contains(&name) {
            return Err(not_found(&name));
        }
        let path = self.original(&name);
        if !is_table(&name) {
            return Ok(Box::new(File::open(path)?));
        }
        // Only the tables of the current version are opened: one that is absent or
        // unreadable is damage the library would otherwise skip.
        let opened = File::open(&path).and_then(|f| Ok((f.metadata()?.len() as usize, f)));
        // rusty-leveldb trusts the footer and the index: their handles are checked first (a
        // damaged size would make it allocate gigabytes, or underflow).
        let checked = match &opened {
            Ok((size, file)) => super::table_check::check(file, *size as u64),
            Err(_) => Ok(()),
        };
        if let Err(problem) = checked {
            self.faults.push(&name, problem.clone(), false);
            return Err(Status::new(StatusCode::Corruption, &problem));
        }
        match opened {
            Ok((size, file)) => Ok(Box::new(CheckedTable {
                file,
                name,
                size,
                faults: self.faults.clone(),
            })),
            Err(e) => {
                let missing = e.kind() == io::ErrorKind::NotFound;
                let problem = if missing {
                    "the database lists this table but the file is missing".to_owned()
                } else {
                    format!("cannot read the table: {e}")
                };
                self.faults.push(&name, problem, missing);
                Err(e.into())
            }
        }
    }

    fn open_writable_file(&self, p: &Path) -> Result<Box<dyn Write>> {
        let name = name_of(p)?;
        let f = MemFile::default();
        let mut ov = self.overlay.borrow_mut();
        ov.hidden.remove(&name);
        ov.files.insert(name, f.clone());
        Ok(Box::new(MemWriter(f)))
    }

    fn open_appendable_file(&self, p: &Path) -> Result<Box<dyn Write>> {
        let name = name_of(p)?;
        let existing = self.overlay.borrow().files.get(&name).cloned();
        let f = match existing {
            Some(f) => f,
            None => {
                // Copy on write: the original's bytes, then the appends, all in memory.
                let bytes = match self.read_all(&name) {
                    Ok(b) => b,
                    Err(e) if e.code == StatusCode::NotFound => Vec::new(),
                    Err(e) => return Err(e),
                };
                let f = MemFile(Rc::new(RefCell::new(bytes)));
                let mut ov = self.overlay.borrow_mut();
                ov.hidden.remove(&name);
                ov.files.insert(name, f.clone());
                f
            }
        };
        Ok(Box::new(MemWriter(f)))
    }

    fn exists(&self, p: &Path) -> Result<bool> {
        if self.is_dir(p) {
            return Ok(self.dir.is_dir());
        }
        let name = name_of(p)?;
        let ov = self.overlay.borrow();
        Ok(ov.files.contains_key(&name)
            || (!ov.hidden.contains(&name) && self.original(&name).exists()))
    }

    fn children(&self, p: &Path) -> Result<Vec<PathBuf>> {
        if !self.is_dir(p) {
            return Ok(Vec::new());
        }
        let ov = self.overlay.borrow();
        let mut names: HashSet<String> = std::fs::read_dir(&self.dir)?
            .flatten()
            .filter_map(|e| e.file_name().to_str().map(str::to_owned))
            .filter(|n| !ov.hidden.contains(n))
            .collect();
        names.extend(ov.files.keys().cloned());
        // rusty-leveldb expects bare names here.
        Ok(names.into_iter().map(PathBuf::from).collect())
    }

    fn size_of(&self, p: &Path) -> Result<usize> {
        let name = name_of(p)?;
        let ov = self.overlay.borrow();
        if let Some(f) = ov.files.get(&name) {
            return Ok(f.0.borrow().len());
        }
        if ov.hidden.contains(&name) {
            return Err(not_found(&name));
        }
        Ok(std::fs::metadata(self.original(&name))?.len() as usize)
    }

    fn delete(&self, p: &Path) -> Result<()> {
        let name = name_of(p)?;
        let mut ov = self.overlay.borrow_mut();
        ov.files.remove(&name);
        if self.original(&name).exists() {
            ov.hidden.insert(name);
        }
        Ok(())
    }

    fn mkdir(&self, _: &Path) -> Result<()> {
        Ok(())
    }

    fn rmdir(&self, _: &Path) -> Result<()> {
        Ok(())
    }

    fn rename(&self, from: &Path, to: &Path) -> Result<()> {
        let (a, b) = (name_of(from)?, name_of(to)?);
        let bytes = self.read_all(&a)?;
        self.delete(from)?;
        let mut ov = self.overlay.borrow_mut();
        ov.hidden.remove(&b);
        ov.files.insert(b, MemFile(Rc::new(RefCell::new(bytes))));
        Ok(())
    }

    fn lock(&self, p: &Path) -> Result<FileLock> {
        Ok(FileLock {
            id: p.to_string_lossy().into_owned(),
        })
    }

    fn unlock(&self, _: FileLock) -> Result<()> {
        Ok(())
    }

    fn new_logger(&self, _: &Path) -> Result<Logger> {
        Ok(Logger::new(Box::new(io::sink())))
    }

    fn micros(&self) -> u64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_micros() as u64)
    }

    fn sleep_for(&self, micros: u32) {
        std::thread::sleep(std::time::Duration::from_micros(u64::from(micros)));
    }
}
