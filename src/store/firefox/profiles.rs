//! Firefox's `profiles.ini`: the profiles of a Firefox root directory and which is the
//! default one.

use std::path::{Path, PathBuf};

/// One `[ProfileN]` section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Profile {
    pub name: String,
    /// The profile directory (relative paths resolved against the root).
    pub path: PathBuf,
    /// `Default=1` in the section.
    pub marked_default: bool,
}

/// The profiles `text` (a `profiles.ini` in `root`) lists, and the default one's directory:
/// an `[Install…]` section's `Default=` (what Firefox since 67 starts), else the profile
/// marked `Default=1`, else the only profile.
pub fn parse(root: &Path, text: &str) -> (Vec<Profile>, Option<PathBuf>) {
    let mut profiles = Vec::new();
    let mut install_default = None;
    let mut section = String::new();
    let mut fields: Vec<(String, String)> = Vec::new();
    let mut finish = |section: &str, fields: &mut Vec<(String, String)>| {
        let get = |k: &str| {
            fields
                .iter()
                .find(|(key, _)| key.eq_ignore_ascii_case(k))
                .map(|(_, v)| v.clone())
        };
        if section.starts_with("Profile") {
            if let Some(path) = get("Path") {
                let relative = get("IsRelative").is_none_or(|v| v != "0");
                profiles.push(Profile {
                    name: get("Name").unwrap_or_default(),
                    path: resolve(root, &path, relative),
                    marked_default: get("Default").is_some_and(|v| v == "1"),
                });
            }
        } else if section.starts_with("Install") && install_default.is_none() {
            install_default =
                get("Default").map(|p| resolve(root, &p, !Path::new(&p).is_absolute()));
        }
        fields.clear();
    };
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with(';') || line.starts_with('#') {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            finish(&section, &mut fields);
            section = name.to_owned();
        } else if let Some((k, v)) = line.split_once('=') {
            fields.push((k.trim().to_owned(), v.trim().to_owned()));
        }
    }
    finish(&section, &mut fields);
    let default = install_default
        .or_else(|| {
            profiles
                .iter()
                .find(|p| p.marked_default)
                .map(|p| p.path.clone())
        })
        .or_else(|| (profiles.len() == 1).then(|| profiles[0].path.clone()));
    (profiles, default)
}

fn resolve(root: &Path, path: &str, relative: bool) -> PathBuf {
    if relative {
        path.split('/')
            .fold(root.to_path_buf(), |p, part| p.join(part))
    } else {
        PathBuf::from(path)
    }
}

/// The profile `wanted` names (its `Name=` or its directory's name).
pub fn find<'a>(profiles: &'a [Profile], wanted: &str) -> Option<&'a Profile> {
    profiles.iter().find(|p| p.name == wanted).or_else(|| {
        profiles
            .iter()
            .find(|p| p.path.file_name().is_some_and(|n| n == wanted))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const INI: &str = "[Install4F96D1932A9F858E]\nDefault=Profiles/abcd.default-release\nLocked=1\n\n\
        [Profile1]\nName=default\nIsRelative=1\nPath=Profiles/efgh.default\nDefault=1\n\n\
        [Profile0]\nName=default-release\nIsRelative=1\nPath=Profiles/abcd.default-release\n\n\
        [Profile2]\nName=work\nIsRelative=0\nPath=/srv/ff/work\n\n[General]\nStartWithLastProfile=1\nVersion=2\n";

    #[test]
    fn the_install_default_wins_over_the_marked_profile() {
        let root = Path::new("/home/u/.mozilla/firefox");
        let (profiles, default) = parse(root, INI);
        assert_eq!(profiles.len(), 3);
        assert_eq!(
            default.unwrap(),
            root.join("Profiles").join("abcd.default-release")
        );
        assert_eq!(
            find(&profiles, "work").unwrap().path,
            PathBuf::from("/srv/ff/work")
        );
        assert_eq!(
            find(&profiles, "efgh.default").unwrap().name,
            "default",
            "a profile is also found by its directory name"
        );
        assert!(find(&profiles, "nope").is_none());
    }

    #[test]
    fn without_an_install_section_the_marked_or_only_profile_is_the_default() {
        let root = Path::new("/r");
        let marked = "[Profile0]\nName=a\nPath=x.a\n[Profile1]\nName=b\nPath=y.b\nDefault=1\n";
        assert_eq!(parse(root, marked).1.unwrap(), root.join("y.b"));
        let only = "[Profile0]\r\nName=a\r\nPath=x.a\r\n";
        assert_eq!(parse(root, only).1.unwrap(), root.join("x.a"));
        let two = "[Profile0]\nName=a\nPath=x.a\n[Profile1]\nName=b\nPath=y.b\n";
        assert_eq!(parse(root, two).1, None);
    }
}
