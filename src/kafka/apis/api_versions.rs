//! ApiVersions: the APIs and version ranges of `protocol::versions`.

use kafka_protocol::messages::api_versions_response::ApiVersion;
use kafka_protocol::messages::{ApiKey, ApiVersionsResponse};
use kafka_protocol::ResponseError;

use crate::kafka::protocol::inter_broker::InterBrokerApi;
use crate::kafka::protocol::versions::SUPPORTED;

pub fn handle() -> ApiVersionsResponse {
    let mut response = ApiVersionsResponse::default();
    response.api_keys = SUPPORTED
        .iter()
        .map(|(api_key, min, max)| {
            let mut version = ApiVersion::default();
            version.api_key = *api_key as i16;
            version.min_version = *min;
            version.max_version = *max;
            version
        })
        .collect();
    // The inter-broker APIs, read by `protocol::inter_broker` rather than the crate,
    // announced as an Apache 3.9 ZooKeeper-mode broker announces them: Apache
    // brokers negotiate AlterPartition's version with this answer.
    for api in InterBrokerApi::ALL {
        let (min, max) = api.versions();
        let mut version = ApiVersion::default();
        version.api_key = api.key();
        version.min_version = min;
        version.max_version = max;
        response.api_keys.push(version);
    }
    response.api_keys.sort_by_key(|version| version.api_key);
    // Apache 3.9 in ZooKeeper mode answers epoch 0 with no finalized features.
    response.finalized_features_epoch = 0;
    response
}

/// The reply to an ApiVersions request of a version keel does not serve: encoded
/// as v0 with UNSUPPORTED_VERSION and, as Apache's (KIP-511), only ApiVersions'
/// own range, so the client retries with a version from it.
pub fn fallback() -> ApiVersionsResponse {
    let mut response = handle();
    response.error_code = ResponseError::UnsupportedVersion.code();
    response
        .api_keys
        .retain(|version| version.api_key == ApiKey::ApiVersions as i16);
    response
}
