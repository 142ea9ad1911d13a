//! An origin directory's name and its `.metadata-v2` file (browsers-localstorage.md §1.2,
//! §1.7). All integers big-endian; a string is a u32 length and its bytes.

use thiserror::Error;

/// Byte offset of the flags word (after the i64 access time and the persisted byte).
const FLAGS_AT: usize = 9;
/// bit 0 Initialized, bit 1 Accessed: set both and QuotaManager rescans the origin.
const INITIALIZED_ACCESSED: u32 = 0b11;
/// Starts the usage trailer Firefox 153 appends.
const TRAILER_MAGIC: u32 = 0xABCD_1234;

/// The directory name QuotaManager gives an origin: control characters and `/:*?"<>|\`
/// become `+`.
pub fn sanitized_origin(origin: &str) -> String {
    origin
        .chars()
        .map(|c| {
            if c.is_ascii_control() && c != '\x7f' || "/:*?\"<>|\\".contains(c) {
                '+'
            } else {
                c
            }
        })
        .collect()
}

/// What `.metadata-v2` says about an origin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirectoryMetadata {
    /// µs since the epoch.
    pub last_access_time: i64,
    pub persisted: bool,
    pub flags: u32,
    /// Days since the epoch.
    pub maintenance_date: u32,
    pub suffix: String,
    pub group: String,
    pub origin: String,
    pub is_private: bool,
    /// The usage Firefox cached here (its "L2" cache), when the file carries one.
    pub usage: Option<u64>,
}

#[derive(Debug, Error, PartialEq, Eq)]
pub enum MetadataError {
    #[error("ends after {0} bytes, inside its {1}")]
    Short(usize, &'static str),
    #[error("its {0} is not UTF-8")]
    NotUtf8(&'static str),
    #[error("has {0} unexpected bytes after its fields")]
    Trailing(usize),
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], MetadataError> {
        let end = self
            .at
            .checked_add(n)
            .filter(|&e| e <= self.bytes.len())
            .ok_or(MetadataError::Short(self.bytes.len(), what))?;
        let out = &self.bytes[self.at..end];
        self.at = end;
        Ok(out)
    }

    fn array<const N: usize>(&mut self, what: &'static str) -> Result<[u8; N], MetadataError> {
        Ok(self.take(N, what)?.try_into().expect("N bytes"))
    }

    fn u32(&mut self, what: &'static str) -> Result<u32, MetadataError> {
        self.array(what).map(u32::from_be_bytes)
    }

    fn string(&mut self, what: &'static str) -> Result<String, MetadataError> {
        let len = self.u32(what)? as usize;
        let bytes = self.take(len, what)?;
        String::from_utf8(bytes.to_vec()).map_err(|_| MetadataError::NotUtf8(what))
    }

    fn left(&self) -> usize {
        self.bytes.len() - self.at
    }
}

impl DirectoryMetadata {
    pub fn parse(bytes: &[u8]) -> Result<DirectoryMetadata, MetadataError> {
        let mut r = Reader { bytes, at: 0 };
        let last_access_time = i64::from_be_bytes(r.array("access time")?);
        let persisted = r.array::<1>("persisted flag")?[0] != 0;
        let flags = r.u32("flags")?;
        let maintenance_date = r.u32("maintenance date")?;
        let suffix = r.string("suffix")?;
        let group = r.string("group")?;
        let origin = r.string("origin")?;
        let is_private = r.array::<1>("private flag")?[0] != 0;
        let usage = if r.left() == 0 {
            None
        } else {
            if r.u32("usage trailer")? != TRAILER_MAGIC {
                return Err(MetadataError::Trailing(r.left() + 4));
            }
            let _quota_version = r.u32("quota version")?;
            let usage = u64::from_be_bytes(r.array("usage")?);
            let _client_usages = r.string("client usages")?;
            Some(usage)
        };
        if r.left() != 0 {
            return Err(MetadataError::Trailing(r.left()));
        }
        Ok(DirectoryMetadata {
            last_access_time,
            persisted,
            flags,
            maintenance_date,
            suffix,
            group,
            origin,
            is_private,
            usage,
        })
    }
}

/// `bytes` (a valid `.metadata-v2`) with the Initialized and Accessed flags set, so that
/// QuotaManager recounts the origin's usage on its next start instead of trusting this file.
pub fn with_accessed(bytes: &[u8]) -> Result<Vec<u8>, MetadataError> {
    let parsed = DirectoryMetadata::parse(bytes)?;
    let mut out = bytes.to_vec();
    out[FLAGS_AT..FLAGS_AT + 4]
        .copy_from_slice(&(parsed.flags | INITIALIZED_ACCESSED).to_be_bytes());
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn string(out: &mut Vec<u8>, s: &str) {
        out.extend((s.len() as u32).to_be_bytes());
        out.extend(s.as_bytes());
    }

    /// A `.metadata-v2` laid out as Firefox 153 writes it (§1.7), flags 1, with the trailer.
    fn sample(trailer: bool) -> Vec<u8> {
        let mut b = Vec::new();
        b.extend(1_796_173_366_652_294i64.to_be_bytes());
        b.push(0);
        b.extend(1u32.to_be_bytes());
        b.extend(20_789u32.to_be_bytes());
        string(&mut b, "");
        string(&mut b, "127.0.0.1");
        string(&mut b, "http://127.0.0.1:3000");
        b.push(0);
        if trailer {
            b.extend(TRAILER_MAGIC.to_be_bytes());
            b.extend(1u32.to_be_bytes());
            b.extend(1_403_363u64.to_be_bytes());
            string(&mut b, "L1403363");
        }
        b
    }

    #[test]
    fn origin_directories_are_named_as_firefox_names_them() {
        for (origin, dir) in [
            ("http://127.0.0.1:3000", "http+++127.0.0.1+3000"),
            ("http://127.0.0.1", "http+++127.0.0.1"),
            ("http://localhost:3000", "http+++localhost+3000"),
            (
                "file://UNIVERSAL_FILE_URI_ORIGIN",
                "file+++UNIVERSAL_FILE_URI_ORIGIN",
            ),
            (
                "https://a.example^userContextId=2",
                "https+++a.example^userContextId=2",
            ),
            ("x\u{1}*?\"<>|\\y", "x++++++++y"),
        ] {
            assert_eq!(sanitized_origin(origin), dir);
        }
    }

    #[test]
    fn metadata_is_read_with_and_without_the_usage_trailer() {
        let m = DirectoryMetadata::parse(&sample(true)).unwrap();
        assert_eq!(
            (m.origin.as_str(), m.group.as_str(), m.flags, m.usage),
            ("http://127.0.0.1:3000", "127.0.0.1", 1, Some(1_403_363))
        );
        assert_eq!(m.maintenance_date, 20_789);
        assert_eq!(
            DirectoryMetadata::parse(&sample(false)).unwrap().usage,
            None
        );
    }

    #[test]
    fn marking_accessed_changes_only_the_flags() {
        let before = sample(true);
        let after = with_accessed(&before).unwrap();
        assert_eq!(DirectoryMetadata::parse(&after).unwrap().flags, 3);
        let changed: Vec<usize> = (0..before.len())
            .filter(|&i| before[i] != after[i])
            .collect();
        assert_eq!(changed, [12]);
    }

    #[test]
    fn damaged_metadata_is_named() {
        let b = sample(true);
        assert_eq!(
            DirectoryMetadata::parse(&b[..20]),
            Err(MetadataError::Short(20, "suffix"))
        );
        let mut extra = sample(false);
        extra.extend([1, 2, 3, 4, 5]);
        assert_eq!(
            DirectoryMetadata::parse(&extra),
            Err(MetadataError::Trailing(5))
        );
        assert!(with_accessed(&b[..5]).is_err());
    }
}
