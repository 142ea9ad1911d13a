//! The data a backend hands over and takes back: one origin's key/value map (`Area`) and the
//! puts and deletes of one save (`ChangeSet`), with the quota arithmetic both share.

use indexmap::IndexMap;

use crate::js::JsString;

/// One origin's localStorage, in the store's key order.
pub type Area = IndexMap<JsString, JsString>;

/// Chromium's localStorage quota per origin (10 MiB, counted in UTF-16 bytes of keys and
/// values; Chrome, Chromium, Edge and Brave share it).
pub const QUOTA_BYTES: u64 = 10 * 1024 * 1024;

/// Bytes of a key/value pair as the browser's quota counts them.
pub fn entry_bytes(key: &JsString, value: &JsString) -> u64 {
    2 * (key.utf16_len() + value.utf16_len()) as u64
}

pub fn area_bytes(area: &Area) -> u64 {
    area.iter().map(|(k, v)| entry_bytes(k, v)).sum()
}

/// Puts (`Some`) and deletes (`None`) for one origin, applied together in one save.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ChangeSet {
    changes: IndexMap<JsString, Option<JsString>>,
}

impl ChangeSet {
    pub fn put(&mut self, key: impl Into<JsString>, value: impl Into<JsString>) {
        self.changes.insert(key.into(), Some(value.into()));
    }

    pub fn delete(&mut self, key: impl Into<JsString>) {
        self.changes.insert(key.into(), None);
    }

    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
    }

    pub fn len(&self) -> usize {
        self.changes.len()
    }

    pub fn get(&self, key: &JsString) -> Option<Option<&JsString>> {
        self.changes.get(key).map(Option::as_ref)
    }

    pub fn iter(&self) -> impl Iterator<Item = (&JsString, Option<&JsString>)> {
        self.changes.iter().map(|(k, v)| (k, v.as_ref()))
    }

    /// Drops changes that would not change `area` (a put of the same value, a delete of an
    /// absent key).
    pub fn without_noops(mut self, area: &Area) -> ChangeSet {
        self.changes.retain(|k, v| area.get(k) != v.as_ref());
        self
    }

    /// Applies the changes to `area` itself, in the order `applied_to` gives, without a copy.
    pub fn apply_in_place(&self, area: &mut Area) {
        let mut deletes = false;
        for (k, v) in self.iter() {
            match (v, area.get_mut(k)) {
                (Some(v), Some(old)) => *old = v.clone(),
                (None, Some(_)) => deletes = true,
                _ => {}
            }
        }
        if deletes {
            // One pass keeps the order (removing one by one would shift the map each time).
            area.retain(|k, _| !matches!(self.get(k), Some(None)));
        }
        for (k, v) in self.iter() {
            if let (Some(v), false) = (v, area.contains_key(k)) {
                area.insert(k.clone(), v.clone());
            }
        }
    }

    /// `area` with the changes applied: existing keys keep their place, new keys go last.
    pub fn applied_to(&self, area: &Area) -> Area {
        let mut out: Area = area
            .iter()
            .filter_map(|(k, v)| match self.get(k) {
                None => Some((k.clone(), v.clone())),
                Some(None) => None,
                Some(Some(new)) => Some((k.clone(), new.clone())),
            })
            .collect();
        for (k, v) in self.iter() {
            if let (Some(v), false) = (v, area.contains_key(k)) {
                out.insert(k.clone(), v.clone());
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changeset_keeps_positions_and_appends_new_keys() {
        let mut area = Area::new();
        area.insert("a".into(), "1".into());
        area.insert("b".into(), "2".into());
        area.insert("c".into(), "3".into());
        let mut cs = ChangeSet::default();
        cs.put("b", "two");
        cs.delete("a");
        cs.put("d", "4");
        cs.put("c", "3");
        let cs = cs.without_noops(&area);
        assert_eq!(cs.len(), 3);
        let out = cs.applied_to(&area);
        let flat: Vec<_> = out.iter().map(|(k, v)| format!("{k}={v}")).collect();
        assert_eq!(flat, ["b=two", "c=3", "d=4"]);
        let mut in_place = area.clone();
        cs.apply_in_place(&mut in_place);
        assert_eq!(in_place, out);
    }
}
