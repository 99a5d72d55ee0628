//! What a running server serves, changeable at run time: tools, resources, templates, prompts.
//!
//! A catalog is a copy-on-write table behind a lock that is held only to clone an `Arc`: a
//! request looks an item up in the current table and keeps the `Arc` of that item, so a change
//! made while it runs (an item added, removed, enabled or disabled) never blocks it. Changes
//! rebuild the table, which is rare and cheap next to the requests that read it.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

/// An item a catalog holds.
pub(crate) trait Item: Send + Sync + 'static {
    /// What the item is called in messages: "tool", "prompt"…
    fn kind(&self) -> &'static str;
    /// The unique key: a tool's or prompt's name, a resource's URI or a template.
    fn key(&self) -> &'static str;
    /// Where the item was defined, for duplicate-key messages.
    fn origin(&self) -> String;
}

/// The items at one moment: every item in key order, and an index of the enabled ones.
pub(crate) struct Table<E> {
    all: Vec<(Arc<E>, bool)>,
    live: Vec<Arc<E>>,
    index: HashMap<&'static str, usize>,
}

impl<E: Item> Table<E> {
    fn new(mut all: Vec<(Arc<E>, bool)>) -> Table<E> {
        all.sort_by(|a, b| a.0.key().cmp(b.0.key()));
        let live: Vec<Arc<E>> = all
            .iter()
            .filter(|(_, on)| *on)
            .map(|(e, _)| Arc::clone(e))
            .collect();
        let index = live.iter().enumerate().map(|(i, e)| (e.key(), i)).collect();
        Table { all, live, index }
    }

    /// The enabled items, in key order.
    pub(crate) fn live(&self) -> &[Arc<E>] {
        &self.live
    }

    /// The enabled item with this key.
    pub(crate) fn get(&self, key: &str) -> Option<&Arc<E>> {
        self.index.get(key).map(|&i| &self.live[i])
    }
}

/// A changeable set of items, keyed uniquely.
pub(crate) struct Catalog<E> {
    table: RwLock<Arc<Table<E>>>,
}

impl<E: Item> Catalog<E> {
    /// A catalog of these items, all enabled. Fails when two share a key.
    pub(crate) fn build(items: Vec<E>) -> Result<Catalog<E>, String> {
        let mut seen: HashMap<&'static str, usize> = HashMap::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            if let Some(&j) = seen.get(item.key()) {
                return Err(duplicate(&items[j], item));
            }
            seen.insert(item.key(), i);
        }
        let all = items.into_iter().map(|e| (Arc::new(e), true)).collect();
        Ok(Catalog {
            table: RwLock::new(Arc::new(Table::new(all))),
        })
    }

    /// The current table.
    pub(crate) fn load(&self) -> Arc<Table<E>> {
        Arc::clone(&self.table.read().unwrap_or_else(|e| e.into_inner()))
    }

    /// The enabled item with this key.
    pub(crate) fn get(&self, key: &str) -> Option<Arc<E>> {
        self.table
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(key)
            .cloned()
    }

    /// The item with this key, enabled or not.
    pub(crate) fn find(&self, key: &str) -> Option<Arc<E>> {
        let table = self.table.read().unwrap_or_else(|e| e.into_inner());
        table
            .all
            .iter()
            .find(|(e, _)| e.key() == key)
            .map(|(e, _)| Arc::clone(e))
    }

    /// How many items are enabled.
    pub(crate) fn len(&self) -> usize {
        self.load().live.len()
    }

    /// Adds an item, enabled. Fails when its key is taken.
    pub(crate) fn add(&self, item: E) -> Result<(), String> {
        self.change(|all| {
            if let Some((existing, _)) = all.iter().find(|(e, _)| e.key() == item.key()) {
                return Err(duplicate(&**existing, &item));
            }
            all.push((Arc::new(item), true));
            Ok(true)
        })
        .map(|_| ())
    }

    /// Removes the item with this key; whether there was one.
    pub(crate) fn remove(&self, key: &str) -> bool {
        self.change(|all| {
            let before = all.len();
            all.retain(|(e, _)| e.key() != key);
            Ok(all.len() != before)
        })
        .unwrap_or(false)
    }

    /// Enables or disables the item with this key; whether that changed anything.
    pub(crate) fn set_enabled(&self, key: &str, enabled: bool) -> bool {
        self.change(|all| {
            Ok(match all.iter_mut().find(|(e, _)| e.key() == key) {
                Some((_, on)) if *on != enabled => {
                    *on = enabled;
                    true
                }
                _ => false,
            })
        })
        .unwrap_or(false)
    }

    /// Applies a change to a copy of the items and publishes it if `f` says something changed.
    fn change(
        &self,
        f: impl FnOnce(&mut Vec<(Arc<E>, bool)>) -> Result<bool, String>,
    ) -> Result<bool, String> {
        let mut guard = self.table.write().unwrap_or_else(|e| e.into_inner());
        let mut all = guard.all.clone();
        let changed = f(&mut all)?;
        if changed {
            *guard = Arc::new(Table::new(all));
        }
        Ok(changed)
    }
}

fn duplicate<E: Item>(first: &E, second: &E) -> String {
    let kind = first.kind();
    let what = if kind.starts_with("resource") {
        "URI"
    } else {
        "name"
    };
    format!(
        "two {kind}s have the {what} `{key}`: one at {a}, one at {b}; \
         rename one or filter one out of the server",
        kind = kind,
        key = first.key(),
        a = first.origin(),
        b = second.origin(),
    )
}

/// Reads a cursor of a paginated list: an offset into it.
pub(crate) fn page_bounds(
    cursor: Option<&str>,
    len: usize,
    page_size: usize,
) -> Result<(usize, usize), crate::protocol::ErrorObject> {
    let start = match cursor {
        None => 0,
        Some(c) => c
            .parse::<usize>()
            .ok()
            .filter(|&n| n <= len)
            .ok_or_else(|| {
                crate::protocol::ErrorObject::invalid_params(format!("invalid cursor {c:?}"))
            })?,
    };
    Ok((start, len.min(start.saturating_add(page_size))))
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Named(&'static str, u32);

    impl Item for Named {
        fn kind(&self) -> &'static str {
            "thing"
        }
        fn key(&self) -> &'static str {
            self.0
        }
        fn origin(&self) -> String {
            format!("line {}", self.1)
        }
    }

    fn keys(c: &Catalog<Named>) -> Vec<&'static str> {
        c.load().live().iter().map(|e| e.0).collect()
    }

    #[test]
    fn lists_in_key_order_and_refuses_duplicates() {
        let c = Catalog::build(vec![Named("b", 1), Named("a", 2)]).unwrap();
        assert_eq!(keys(&c), ["a", "b"]);
        let err = Catalog::build(vec![Named("a", 1), Named("a", 7)])
            .err()
            .unwrap();
        assert!(err.contains("`a`") && err.contains("line 1") && err.contains("line 7"));
        assert!(c.add(Named("a", 9)).unwrap_err().contains("line 9"));
    }

    #[test]
    fn changes_publish_a_new_table_and_leave_old_readers_alone() {
        let c = Catalog::build(vec![Named("a", 1), Named("b", 2)]).unwrap();
        let before = c.load();
        assert!(c.set_enabled("a", false));
        assert!(!c.set_enabled("a", false), "no change the second time");
        assert_eq!(keys(&c), ["b"]);
        assert!(c.get("a").is_none());
        assert_eq!(before.live().len(), 2, "a reader keeps its table");
        assert!(c.set_enabled("a", true));
        assert_eq!(keys(&c), ["a", "b"]);
        c.add(Named("c", 3)).unwrap();
        assert!(c.remove("b"));
        assert!(!c.remove("b"));
        assert_eq!(keys(&c), ["a", "c"]);
        assert_eq!(c.len(), 2);
    }

    #[test]
    fn cursors_are_offsets() {
        assert_eq!(page_bounds(None, 5, 2).unwrap(), (0, 2));
        assert_eq!(page_bounds(Some("4"), 5, 2).unwrap(), (4, 5));
        assert_eq!(page_bounds(Some("5"), 5, usize::MAX).unwrap(), (5, 5));
        assert!(page_bounds(Some("6"), 5, 2).is_err());
        assert!(page_bounds(Some("x"), 5, 2).is_err());
    }
}
