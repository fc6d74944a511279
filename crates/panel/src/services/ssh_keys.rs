//! Account SSH keys for SFTP logins: ed25519, ECDSA (P-256, P-384, P-521) and RSA of at
//! least 2048 bits, in OpenSSH's one-line form. A key belongs to one account at most.

use ::ssh_key::public::KeyData;
use ::ssh_key::{HashAlg, PublicKey};
use sea_orm::{DatabaseConnection, TransactionTrait};
use serde_json::json;

use crate::auth::Actor;
use crate::db::entities::ssh_key;
use crate::error::{Error, Result};
use crate::repo::{self, ssh_keys::NewSshKey};
use crate::services::audit;

/// Keys one account may hold.
pub const MAX_KEYS_PER_USER: u64 = 20;
/// The smallest RSA modulus accepted, bits.
const MIN_RSA_BITS: usize = 2048;

/// A checked public key.
pub struct CheckedKey {
    pub algorithm: String,
    pub fingerprint: String,
    /// OpenSSH one-line form without the comment.
    pub public_key: String,
}

/// `SHA256:…` of an OpenSSH one-line public key, when it parses.
pub fn fingerprint_of(openssh: &str) -> Option<String> {
    PublicKey::from_openssh(openssh.trim())
        .ok()
        .map(|key| key.fingerprint(HashAlg::Sha256).to_string())
}

/// Parses and checks a public key as a user pasted it.
pub fn check(text: &str) -> Result<CheckedKey> {
    let invalid = |why: &str| Error::validation("publicKey", why);
    let key = PublicKey::from_openssh(text.trim()).map_err(|_| {
        invalid(
            "not an SSH public key; paste one line such as the content of ~/.ssh/id_ed25519.pub",
        )
    })?;
    match key.key_data() {
        KeyData::Ed25519(_) | KeyData::Ecdsa(_) => {}
        KeyData::Rsa(rsa) => {
            let bytes = rsa.n.as_positive_bytes().map(<[u8]>::len).unwrap_or(0);
            if bytes * 8 < MIN_RSA_BITS {
                return Err(invalid("RSA keys must have at least 2048 bits"));
            }
        }
        _ => return Err(invalid("only ed25519, ECDSA and RSA keys are accepted")),
    }
    let mut bare = key.clone();
    bare.set_comment("");
    let public_key = bare
        .to_openssh()
        .map_err(|_| invalid("this key cannot be encoded"))?;
    Ok(CheckedKey {
        algorithm: key.algorithm().as_str().to_owned(),
        fingerprint: key.fingerprint(HashAlg::Sha256).to_string(),
        public_key,
    })
}

/// The caller's keys, oldest first.
pub async fn list(db: &DatabaseConnection, actor: &Actor) -> Result<Vec<ssh_key::Model>> {
    repo::ssh_keys::list_for_user(db, actor.id()).await
}

/// Adds a key to the caller's account.
pub async fn add(
    db: &DatabaseConnection,
    actor: &Actor,
    name: String,
    text: &str,
) -> Result<ssh_key::Model> {
    let checked = check(text)?;
    let txn = db.begin().await?;
    if repo::ssh_keys::count_for_user(&txn, actor.id()).await? >= MAX_KEYS_PER_USER {
        return Err(Error::Conflict(format!(
            "an account can hold at most {MAX_KEYS_PER_USER} SSH keys; remove one first"
        )));
    }
    if repo::ssh_keys::find_by_fingerprint(&txn, &checked.fingerprint)
        .await?
        .is_some()
    {
        return Err(Error::Conflict("this SSH key is already registered".into()));
    }
    let key = repo::ssh_keys::create(
        &txn,
        NewSshKey {
            user_id: actor.id().to_owned(),
            name,
            algorithm: checked.algorithm,
            fingerprint: checked.fingerprint,
            public_key: checked.public_key,
        },
    )
    .await?;
    let details = json!({ "name": key.name, "fingerprint": key.fingerprint });
    audit::record_by(&txn, actor, "ssh_key.added", "ssh_key", &key.id, details).await?;
    txn.commit().await?;
    Ok(key)
}

/// Removes one of the caller's keys.
pub async fn remove(db: &DatabaseConnection, actor: &Actor, id: &str) -> Result<()> {
    let txn = db.begin().await?;
    let Some(key) = repo::ssh_keys::delete_for_user(&txn, actor.id(), id).await? else {
        return Err(Error::not_found("SSH key"));
    };
    let details = json!({ "name": key.name, "fingerprint": key.fingerprint });
    audit::record_by(&txn, actor, "ssh_key.removed", "ssh_key", &key.id, details).await?;
    txn.commit().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const ED25519: &str =
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPuBjapFMSyRLVrtXeDRVZ/KJxN+nixL1JH17SrVmbPu me@host";

    #[test]
    fn keys_are_checked_and_fingerprinted_like_openssh() {
        let key = check(ED25519).unwrap();
        assert_eq!(key.algorithm, "ssh-ed25519");
        assert!(key.fingerprint.starts_with("SHA256:"));
        assert!(!key.public_key.contains("me@host"));
        assert_eq!(
            fingerprint_of(ED25519).as_deref(),
            Some(key.fingerprint.as_str())
        );
        for bad in ["", "ssh-ed25519", "ssh-ed25519 AAAA", "not a key at all"] {
            assert!(check(bad).is_err(), "{bad}");
        }
    }
}
