//! Backups as the nodes report them: every `backup` event mirrored into the database,
//! and on every (re)connect the node's whole list, so an outcome reached while the panel
//! was away is recorded and backups made on the node (by a schedule) join their server's
//! list. Completed and failed backups are announced for retention.

use cap_protocol::backup::BackupRecord;

use super::{AgentClient, AgentHub};
use crate::repo::{self, backups::Mirrored};

/// Mirrors one record; announces it when it just became final.
pub(super) async fn mirror(hub: &AgentHub, record: &BackupRecord) {
    match repo::backups::mirror(hub.db(), record).await {
        Ok(Mirrored::Updated | Mirrored::Adopted) if record.status.is_final() => {
            hub.backup_finished(record.server_id);
        }
        Ok(_) => {}
        Err(e) => tracing::warn!(backup = %record.id, "cannot record backup progress: {e}"),
    }
}

/// Catches up with a node's backups after the event stream (re)connected.
pub(super) async fn reconcile(hub: &AgentHub, node_id: &str, client: &AgentClient) {
    // Rows younger than this may belong to a backup the node accepted after it listed.
    let settled = chrono::Utc::now() - chrono::Duration::minutes(1);
    let records = match client.backups().await {
        Ok(records) => records,
        Err(e) => {
            tracing::warn!(node = %client.endpoint().node_name, "cannot list backups: {e}");
            return;
        }
    };
    for record in &records {
        mirror(hub, record).await;
    }
    let unfinished = match repo::backups::unfinished_on_node(hub.db(), node_id).await {
        Ok(rows) => rows,
        Err(e) => {
            tracing::warn!(node_id, "cannot read unfinished backups: {e}");
            return;
        }
    };
    for row in unfinished {
        if row.created_at > settled || records.iter().any(|r| r.id.to_string() == row.id) {
            continue;
        }
        let reason = "the node has no record of this backup (its data directory was replaced?)";
        match repo::backups::fail(hub.db(), &row.id, reason).await {
            Ok(true) => {
                if let Ok(server) = uuid::Uuid::parse_str(&row.server_id) {
                    hub.backup_finished(server);
                }
            }
            Ok(false) => {}
            Err(e) => tracing::warn!(backup = %row.id, "cannot mark backup failed: {e}"),
        }
    }
}
