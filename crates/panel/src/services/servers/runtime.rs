//! Which runtime a server runs on: native, or Docker in one of its template's
//! `docker_images` (a server's stored image means Docker).

use cap_protocol::runtime::RuntimeKind;

use crate::agents::AgentClient;
use crate::error::{Error, Result};
use crate::services::templates::Template;

/// The runtime and image asked for; `None` fields take the defaults.
#[derive(Debug, Clone, Default)]
pub struct RuntimeChoice {
    pub runtime: Option<RuntimeKind>,
    pub image: Option<String>,
}

impl RuntimeChoice {
    /// Whether anything was asked for.
    pub fn is_set(&self) -> bool {
        self.runtime.is_some() || self.image.is_some()
    }
}

/// The image the server runs in (`None`: native). Without a choice a template with
/// Docker images runs in its first one on a node with a Docker engine, natively
/// elsewhere.
pub async fn resolve(
    client: &AgentClient,
    template: &Template,
    choice: RuntimeChoice,
) -> Result<Option<String>> {
    let images: Vec<&String> = template.alt.docker_images.values().collect();
    let wanted = match (choice.runtime, &choice.image) {
        (Some(RuntimeKind::Native), Some(_)) => {
            return Err(Error::validation(
                "image",
                "an image is only used with the docker runtime",
            ))
        }
        (Some(RuntimeKind::Native), None) => return Ok(None),
        (None, None) if images.is_empty() => return Ok(None),
        (None, None) => None,
        _ => Some(()),
    };
    let docker = offers_docker(client).await;
    if wanted.is_none() && !docker {
        return Ok(None);
    }
    if images.is_empty() {
        return Err(Error::validation(
            "runtime",
            "this template has no Docker images",
        ));
    }
    if !docker {
        return Err(Error::validation(
            "runtime",
            "the node has no Docker engine that answers",
        ));
    }
    match choice.image {
        None => Ok(images.first().map(|image| (*image).clone())),
        Some(image) if images.contains(&&image) => Ok(Some(image)),
        Some(_) => Err(Error::validation(
            "image",
            "must be one of the template's Docker images",
        )),
    }
}

/// Whether the node's agent offers the Docker runtime right now.
async fn offers_docker(client: &AgentClient) -> bool {
    client
        .system()
        .await
        .is_ok_and(|system| system.runtimes.contains(&RuntimeKind::Docker))
}

/// The runtime a stored image means.
pub fn kind_of(image: Option<&str>) -> RuntimeKind {
    if image.is_some() {
        RuntimeKind::Docker
    } else {
        RuntimeKind::Native
    }
}
