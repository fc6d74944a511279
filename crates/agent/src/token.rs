//! The node token: read from the token file, or generated into it (mode 0600).

use std::path::Path;

use rand::RngCore;

use crate::error::{AgentError, AgentResult};

/// Read the token, generating a random 256-bit one if the file does not exist.
/// The token itself is never logged.
pub fn load_or_generate(path: &Path) -> AgentResult<String> {
    match std::fs::read_to_string(path) {
        Ok(text) => {
            let token = text.trim().to_owned();
            if token.len() < 16 {
                return Err(AgentError::Config(format!(
                    "token file {} holds fewer than 16 characters",
                    path.display()
                )));
            }
            Ok(token)
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent)?;
            }
            let mut bytes = [0u8; 32];
            rand::thread_rng().fill_bytes(&mut bytes);
            let token = hex::encode(bytes);
            crate::tls::write_private(path, token.as_bytes())?;
            tracing::info!(path = %path.display(), "generated a new node token; give the panel the content of this file");
            Ok(token)
        }
        Err(e) => Err(AgentError::Config(format!(
            "cannot read token file {}: {e}",
            path.display()
        ))),
    }
}
