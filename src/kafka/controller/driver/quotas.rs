//! Client quota configs mirrored on the driver task for `kafka::quota`: the
//! user, client-id and user/client-id entity configs under `/config/users` and
//! `/config/clients` are read in full with the rest of the picture, then one entity
//! at a time as `/config/changes` notifications name it (`users/<u>`,
//! `clients/<c>`, `users/<u>/clients/<c>`), as Kafka's ClientIdConfigHandler and
//! UserConfigHandler apply them.

use std::sync::Arc;

use zookeeper_client as zk;

use super::{session, Driver};
use crate::kafka::controller::session::retry;
use crate::kafka::controller::zk_layout::{decode_entity_config, desanitize};
use crate::kafka::controller::ControllerError;
use crate::kafka::quota::{EntityName, QuotaEntity, QuotaTable};

/// A quota entity from its path under `/config` (`users/<u>`, `clients/<c>`,
/// `users/<u>/clients/<c>`); `None` for any other path. Users stay sanitized, as
/// Kafka's quota tags keep them; client ids are desanitized, as Kafka's
/// ClientIdEntity holds them.
pub(super) fn quota_entity(entity_path: &str) -> Option<QuotaEntity> {
    let client = |name: &str| {
        Some(match EntityName::from_znode(name) {
            EntityName::Default => EntityName::Default,
            EntityName::Named(name) => EntityName::Named(desanitize(&name)),
        })
    };
    let parts: Vec<&str> = entity_path.split('/').collect();
    match parts.as_slice() {
        ["users", user] => Some(QuotaEntity {
            user: Some(EntityName::from_znode(user)),
            client: None,
        }),
        ["clients", client_id] => Some(QuotaEntity {
            user: None,
            client: client(client_id),
        }),
        ["users", user, "clients", client_id] => Some(QuotaEntity {
            user: Some(EntityName::from_znode(user)),
            client: client(client_id),
        }),
        _ => None,
    }
}

impl Driver {
    /// Reads every user and client-id quota config afresh.
    pub(super) async fn reload_all_quotas(&mut self) -> Result<(), ControllerError> {
        let mut table = QuotaTable::default();
        let mut paths = Vec::new();
        for user in self.children_or_none("/config/users").await? {
            for client_id in self
                .children_or_none(&format!("/config/users/{user}/clients"))
                .await?
            {
                paths.push(format!("users/{user}/clients/{client_id}"));
            }
            paths.push(format!("users/{user}"));
        }
        for client_id in self.children_or_none("/config/clients").await? {
            paths.push(format!("clients/{client_id}"));
        }
        for path in paths {
            if let Some(entity) = quota_entity(&path) {
                let config = self.read_entity_config(&path).await?;
                table.set_entity(entity, &config);
            }
        }
        self.cache.quotas = Arc::new(table);
        Ok(())
    }

    /// Re-reads one entity a config change notification named.
    pub(super) async fn reload_quota_entity(
        &mut self,
        entity_path: &str,
    ) -> Result<(), ControllerError> {
        let Some(entity) = quota_entity(entity_path) else {
            return Ok(());
        };
        let config = self.read_entity_config(entity_path).await?;
        Arc::make_mut(&mut self.cache.quotas).set_entity(entity, &config);
        Ok(())
    }

    async fn read_entity_config(
        &mut self,
        entity_path: &str,
    ) -> Result<std::collections::BTreeMap<String, String>, ControllerError> {
        let path = format!("/config/{entity_path}");
        Ok(match session::get(&self.client, &path).await? {
            Some((data, _)) => decode_entity_config(&data),
            None => Default::default(),
        })
    }

    async fn children_or_none(&mut self, path: &str) -> Result<Vec<String>, ControllerError> {
        let client = self.client.clone();
        match retry("list", path, || client.list_children(path)).await {
            Ok(children) => Ok(children),
            Err(zk::Error::NoNode) => Ok(Vec::new()),
            Err(source) => Err(session::zk_error("list", path, source)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entity_paths_name_quota_entities() {
        let named = |name: &str| Some(EntityName::Named(name.to_string()));
        assert_eq!(
            quota_entity("users/alice"),
            Some(QuotaEntity {
                user: named("alice"),
                client: None
            })
        );
        assert_eq!(
            quota_entity("users/<default>/clients/c%2F1"),
            Some(QuotaEntity {
                user: Some(EntityName::Default),
                client: named("c/1")
            })
        );
        assert_eq!(quota_entity("topics/t"), None);
        assert_eq!(quota_entity("users/a/clients"), None);
    }
}
