//! A copy-on-write file environment for rusty-leveldb: reads go to the database's own files,
//! everything the library writes (info log rotation, log and manifest appends, compaction
//! output, deletes, renames, the lock) stays in memory. Opening a user's profile through it
//! never changes a byte on disk, and costs only the blocks actually read.
//!
//! Every path is reduced to its file name: rusty-leveldb names some files by the path it was
//! given and others by a joined path, and a database is one flat directory.

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
        }
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
        Ok(Box::new(File::open(self.original(&name))?))
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
