//! Components (`/v1/components`): reusable LMX bodies, used in an email with
//! `<Component componentId="..." />`. List, get, create, update.
//!
//! Changing a component's LMX cascades to every email that uses it (the answer says how
//! many); a change that would put a variable into an email that cannot use it is refused with
//! 422 ([`Error::Unprocessable`](crate::Error::Unprocessable)). Loops documents a size limit
//! for component LMX (413) without a number, so the size is left to Loops to check.

use http::Method;
use serde::{Deserialize, Serialize};

use crate::endpoint::{ApiRequest, Endpoint, get_by_id, id_path};
use crate::json::to_json;
use crate::pagination::{PageRequest, list_request};
use crate::validate::{self, ValidationError};

/// A component.
///
/// Both shapes are read: the current one (`id`) and the one before JS SDK 7.0
/// (`componentId`, with a top-level `success`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Component {
    /// Its id, for `<Component componentId="..." />`.
    #[serde(alias = "componentId")]
    pub id: String,
    /// Its name.
    #[serde(default)]
    pub name: String,
    /// Its body, as LMX.
    #[serde(default)]
    pub lmx: String,
    /// On an update: how many emails the LMX change reached (`0` when only the name
    /// changed). `None` elsewhere.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub affected_email_count: Option<u64>,
}

/// Creates a component (`POST /v1/components`): a name and an LMX body, both required.
///
/// ```
/// use loops_client::components::CreateComponentRequest;
///
/// let data = CreateComponentRequest::new("Header", "<Section><H1><Text>Acme</Text></H1></Section>")
///     .to_api_request()
///     .unwrap();
/// assert_eq!(data.path(), "/v1/components");
/// assert!(CreateComponentRequest::new("Header", "").to_api_request().is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CreateComponentRequest {
    name: String,
    lmx: String,
}

impl CreateComponentRequest {
    /// A component with this name and LMX body.
    pub fn new(name: impl Into<String>, lmx: impl Into<String>) -> Self {
        CreateComponentRequest {
            name: name.into(),
            lmx: lmx.into(),
        }
    }

    /// Validates and turns the request into data. Not repeated after an ambiguous failure.
    pub fn to_api_request(&self) -> Result<ApiRequest, ValidationError> {
        validate::require_non_empty_any("name", &self.name)?;
        validate::require_non_empty_any("lmx", &self.lmx)?;
        Ok(
            ApiRequest::new(Endpoint::CreateComponent, Method::POST, "/v1/components")
                .with_json_bytes(to_json(self)),
        )
    }
}

/// Changes a component's name or LMX (at least one).
///
/// ```
/// use loops_client::components::UpdateComponentRequest;
///
/// let data = UpdateComponentRequest::new().lmx("<Section></Section>").to_api_request("cp1").unwrap();
/// assert_eq!(data.path(), "/v1/components/cp1");
/// assert!(UpdateComponentRequest::new().to_api_request("cp1").is_err());
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct UpdateComponentRequest {
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    lmx: Option<String>,
}

impl UpdateComponentRequest {
    /// An update that changes nothing yet.
    pub fn new() -> Self {
        UpdateComponentRequest::default()
    }

    /// Renames the component.
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// Replaces its LMX body (which cascades to the emails that use it).
    pub fn lmx(mut self, lmx: impl Into<String>) -> Self {
        self.lmx = Some(lmx.into());
        self
    }

    /// `POST /v1/components/{id}`; safe to repeat (it sets fields).
    pub fn to_api_request(&self, id: &str) -> Result<ApiRequest, ValidationError> {
        match (&self.name, &self.lmx) {
            (None, None) => {
                return Err(ValidationError::EmptyUpdate {
                    request: "UpdateComponentRequest",
                });
            }
            (name, lmx) => {
                if let Some(name) = name {
                    validate::require_non_empty_any("name", name)?;
                }
                if let Some(lmx) = lmx {
                    validate::require_non_empty_any("lmx", lmx)?;
                }
            }
        }
        let path = id_path("/v1/components", "componentId", id, "")?;
        Ok(
            ApiRequest::new(Endpoint::UpdateComponent, Method::POST, path)
                .with_json_bytes(to_json(self)),
        )
    }
}

/// One page of components, newest first.
pub fn list_components_request(page: &PageRequest) -> Result<ApiRequest, ValidationError> {
    list_request(Endpoint::ListComponents, "/v1/components", page)
}

/// One component by id.
pub fn get_component_request(id: &str) -> Result<ApiRequest, ValidationError> {
    get_by_id(Endpoint::GetComponent, "/v1/components", "componentId", id)
}

#[cfg(feature = "client")]
pub use api::ComponentsApi;

#[cfg(feature = "client")]
mod api {
    use super::{
        Component, CreateComponentRequest, UpdateComponentRequest, get_component_request,
        list_components_request,
    };
    use crate::client::Client;
    use crate::pagination::paged_list;

    /// Components. Get it with [`Client::components`].
    ///
    /// ```no_run
    /// # async fn run(client: loops_client::Client) -> loops_client::Result<()> {
    /// use loops_client::components::{CreateComponentRequest, UpdateComponentRequest};
    ///
    /// let components = client.components();
    /// let header = components
    ///     .create(&CreateComponentRequest::new("Header", "<Section><H1><Text>Acme</Text></H1></Section>"))
    ///     .await?;
    /// let changed = components
    ///     .update(&header.id, &UpdateComponentRequest::new().lmx("<Section><H1><Text>Acme Inc.</Text></H1></Section>"))
    ///     .await?;
    /// println!("{} emails updated", changed.affected_email_count.unwrap_or(0));
    /// # Ok(()) }
    /// ```
    #[derive(Debug, Clone)]
    pub struct ComponentsApi {
        pub(crate) client: Client,
    }

    impl ComponentsApi {
        paged_list!(Component, list_components_request, "components");

        /// One component by id.
        pub async fn get(&self, id: &str) -> crate::Result<Component> {
            self.client
                .execute(&get_component_request(id)?)
                .await?
                .json()
        }

        /// Creates a component; not retried after an ambiguous failure.
        pub async fn create(&self, request: &CreateComponentRequest) -> crate::Result<Component> {
            self.client
                .execute(&request.to_api_request()?)
                .await?
                .json()
        }

        /// Updates a component; the answer carries `affected_email_count`.
        pub async fn update(
            &self,
            id: &str,
            request: &UpdateComponentRequest,
        ) -> crate::Result<Component> {
            self.client
                .execute(&request.to_api_request(id)?)
                .await?
                .json()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn both_component_shapes_parse() {
        let current: Component =
            serde_json::from_value(json!({"id": "cp1", "name": "Header", "lmx": "<Section/>"}))
                .unwrap();
        assert_eq!(current.id, "cp1");
        let legacy: Component = serde_json::from_value(
            json!({"success": true, "componentId": "cp2", "name": "Old", "lmx": ""}),
        )
        .unwrap();
        assert_eq!(legacy.id, "cp2");
        let updated: Component =
            serde_json::from_value(json!({"id": "cp1", "affectedEmailCount": 0})).unwrap();
        assert_eq!(updated.affected_email_count, Some(0));
    }

    #[test]
    fn component_requests() {
        assert_eq!(
            list_components_request(&PageRequest::default())
                .unwrap()
                .path_and_query(),
            "/v1/components"
        );
        assert_eq!(
            get_component_request("cp1").unwrap().endpoint(),
            Endpoint::GetComponent
        );
        let renamed = UpdateComponentRequest::new()
            .name("Footer")
            .to_api_request("cp1")
            .unwrap();
        assert_eq!(renamed.body().unwrap(), br#"{"name":"Footer"}"#);
        assert!(
            UpdateComponentRequest::new()
                .lmx(" ")
                .to_api_request("cp1")
                .is_err()
        );
        assert!(
            UpdateComponentRequest::new()
                .name("x")
                .to_api_request("")
                .is_err()
        );
    }
}
