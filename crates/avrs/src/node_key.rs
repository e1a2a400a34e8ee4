//! The node's own key: it signs every frame the node ingests (and names the
//! node). `private_key_file` from the config when set; otherwise
//! `DATA_DIR/node.key`, made once (Ed25519, mode 0600) and kept, so viewers
//! can pin the node's id across restarts.

use anyhow::{Context, Result};
use avrs_crypto::{Algorithm, SigningKey, keyfile};
use std::path::Path;
use std::sync::Arc;

/// File name inside the data directory.
pub const FILE_NAME: &str = "node.key";

/// The key named by the config, or the data directory's own.
pub fn load_or_create(configured: Option<&Path>, data_dir: &Path) -> Result<Arc<SigningKey>> {
    if let Some(path) = configured {
        let key = keyfile::load(path).context("private_key_file")?;
        return Ok(Arc::new(key));
    }
    let path = data_dir.join(FILE_NAME);
    if path.exists() {
        return Ok(Arc::new(keyfile::load(&path)?));
    }
    let key = SigningKey::generate(Algorithm::Ed25519).context("cannot make the node key")?;
    keyfile::save(&path, &key, false)
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(Arc::new(key))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_is_made_once_and_kept() {
        let dir = tempfile::tempdir().unwrap();
        let first = load_or_create(None, dir.path()).unwrap();
        let again = load_or_create(None, dir.path()).unwrap();
        assert_eq!(first.id(), again.id());
        let configured = dir.path().join("mine.key");
        let mine = SigningKey::generate(Algorithm::MlDsa65).unwrap();
        keyfile::save(&configured, &mine, false).unwrap();
        let loaded = load_or_create(Some(&configured), dir.path()).unwrap();
        assert_eq!(loaded.id(), mine.id());
        let missing = load_or_create(Some(&dir.path().join("none.key")), dir.path());
        assert!(format!("{:#}", missing.unwrap_err()).contains("private_key_file"));
    }
}
