//! Object caches shared across calls and clients.
//!
//! Objects are immutable and named by their content, so a cache never goes stale: anything
//! fetched once can be served again for any repository that has the same id.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;

use bytes::Bytes;

use crate::object::{Kind, Object};
use crate::oid::Oid;

/// Storage for objects, shared by clients (`Arc<dyn ObjectCache>`).
pub trait ObjectCache: Send + Sync + std::fmt::Debug {
    /// The object with this id, if held.
    fn get(&self, oid: &Oid) -> Option<Object>;
    /// Keeps an object (the cache may drop it later).
    fn put(&self, object: &Object);
}

/// A cache that keeps nothing.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoCache;

impl ObjectCache for NoCache {
    fn get(&self, _oid: &Oid) -> Option<Object> {
        None
    }
    fn put(&self, _object: &Object) {}
}

#[derive(Debug, Default)]
struct LruState {
    entries: HashMap<Oid, (Object, u64)>,
    order: BTreeMap<u64, Oid>,
    tick: u64,
    bytes: usize,
}

/// An in-memory cache bounded in bytes, evicting the least recently used objects.
#[derive(Debug)]
pub struct MemoryCache {
    max_bytes: usize,
    state: std::sync::Mutex<LruState>,
}

impl MemoryCache {
    /// A cache holding at most `max_bytes` of object content.
    pub fn new(max_bytes: usize) -> Self {
        MemoryCache {
            max_bytes,
            state: std::sync::Mutex::new(LruState::default()),
        }
    }

    /// Bytes of content currently held.
    pub fn size_bytes(&self) -> usize {
        self.lock().bytes
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, LruState> {
        // A panic while holding the lock cannot leave the maps inconsistent in a way that
        // matters for a cache, so keep using it.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Default for MemoryCache {
    /// 64 MiB.
    fn default() -> Self {
        MemoryCache::new(64 << 20)
    }
}

impl ObjectCache for MemoryCache {
    fn get(&self, oid: &Oid) -> Option<Object> {
        let mut s = self.lock();
        s.tick += 1;
        let tick = s.tick;
        let (obj, old_tick) = {
            let entry = s.entries.get_mut(oid)?;
            let old = entry.1;
            entry.1 = tick;
            (entry.0.clone(), old)
        };
        s.order.remove(&old_tick);
        s.order.insert(tick, *oid);
        Some(obj)
    }

    fn put(&self, object: &Object) {
        let size = object.data.len();
        if size > self.max_bytes {
            return;
        }
        let mut s = self.lock();
        s.tick += 1;
        let tick = s.tick;
        if let Some((_, old_tick)) = s.entries.insert(object.oid, (object.clone(), tick)) {
            s.order.remove(&old_tick);
        } else {
            s.bytes += size;
        }
        s.order.insert(tick, object.oid);
        while s.bytes > self.max_bytes {
            let Some((_, victim)) = s.order.pop_first() else {
                break;
            };
            if let Some((obj, _)) = s.entries.remove(&victim) {
                s.bytes -= obj.data.len();
            }
        }
    }
}

/// A cache of one file per object under a directory (`ab/cdef…`), shared by processes.
#[derive(Debug, Clone)]
pub struct DiskCache {
    root: PathBuf,
}

impl DiskCache {
    /// A cache under `root` (created if missing).
    pub fn new(root: impl Into<PathBuf>) -> std::io::Result<Self> {
        let root = root.into();
        std::fs::create_dir_all(&root)?;
        Ok(DiskCache { root })
    }

    fn path(&self, oid: &Oid) -> PathBuf {
        let hex = oid.to_hex();
        self.root.join(&hex[..2]).join(&hex[2..])
    }
}

impl ObjectCache for DiskCache {
    fn get(&self, oid: &Oid) -> Option<Object> {
        let data = std::fs::read(self.path(oid)).ok()?;
        let (&kind_byte, content) = data.split_first()?;
        let kind = Kind::from_pack_type(kind_byte)?;
        let obj = Object::new(kind, Bytes::copy_from_slice(content));
        // A torn or corrupted file must not be served as the object.
        (obj.oid == *oid).then_some(obj)
    }

    fn put(&self, object: &Object) {
        let path = self.path(&object.oid);
        if path.exists() {
            return;
        }
        let Some(dir) = path.parent() else { return };
        // Write to a temporary file and rename, so readers never see a partial object. A cache
        // write failing is not an error for the caller: the object is simply not cached.
        let write = || -> std::io::Result<()> {
            std::fs::create_dir_all(dir)?;
            let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
            std::io::Write::write_all(&mut tmp, &[object.kind.pack_type()])?;
            std::io::Write::write_all(&mut tmp, &object.data)?;
            tmp.persist(&path).map_err(|e| e.error)?;
            Ok(())
        };
        let _ = write();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn blob(n: usize, fill: u8) -> Object {
        Object::new(Kind::Blob, vec![fill; n])
    }

    #[test]
    fn memory_cache_evicts_least_recently_used_by_bytes() {
        let cache = MemoryCache::new(250);
        let (a, b, c) = (blob(100, 1), blob(100, 2), blob(100, 3));
        cache.put(&a);
        cache.put(&b);
        assert!(cache.get(&a.oid).is_some()); // a is now newer than b
        cache.put(&c);
        assert!(cache.get(&b.oid).is_none());
        assert!(cache.get(&a.oid).is_some());
        assert!(cache.get(&c.oid).is_some());
        assert_eq!(cache.size_bytes(), 200);
        cache.put(&blob(1000, 4)); // larger than the whole cache: ignored
        assert_eq!(cache.size_bytes(), 200);
    }

    #[test]
    fn disk_cache_round_trip_and_rejects_corruption() {
        let dir = tempfile::tempdir().expect("tempdir");
        let cache = DiskCache::new(dir.path()).expect("create");
        let a = blob(10, 7);
        cache.put(&a);
        assert_eq!(cache.get(&a.oid), Some(a.clone()));
        std::fs::write(cache.path(&a.oid), b"\x03corrupt").expect("write");
        assert_eq!(cache.get(&a.oid), None);
    }
}
