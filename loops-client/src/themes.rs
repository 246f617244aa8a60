//! Themes (`/v1/themes`): list, get, create, update. An LMX body uses one with
//! `<Style themeId="..." />`.
//!
//! Updating a theme's styles cascades to every email that uses it; the answer says how many
//! ([`Theme::affected_email_count`]).

use http::Method;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Number, Value};

use crate::endpoint::{ApiRequest, Endpoint, get_by_id, id_path};
use crate::json::to_json;
use crate::pagination::{PageRequest, list_request};
use crate::validate::{self, ValidationError};

macro_rules! theme_styles {
    ($( $field:ident: $ty:ty = $wire:literal; )*) => {
        /// A theme's style attributes, named as the LMX `<Style />` tag names them.
        ///
        /// Every documented attribute has a field (colours and fonts as text, sizes as JSON
        /// numbers so that `12` stays `12`); attributes Loops adds later are kept in
        /// [`extra`](Self::extra). On an update, only the attributes set are sent.
        #[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
        #[non_exhaustive]
        pub struct ThemeStyles {
            $(
                #[doc = concat!("`", $wire, "`.")]
                #[serde(rename = $wire, default, skip_serializing_if = "Option::is_none")]
                pub $field: Option<$ty>,
            )*
            /// Attributes this crate does not model yet.
            #[serde(flatten)]
            pub extra: Map<String, Value>,
        }

        impl ThemeStyles {
            fn is_empty(&self) -> bool {
                $( self.$field.is_none() && )* self.extra.is_empty()
            }
        }
    };
}

theme_styles! {
    background_color: String = "backgroundColor";
    background_x_padding: Number = "backgroundXPadding";
    background_y_padding: Number = "backgroundYPadding";
    body_color: String = "bodyColor";
    body_x_padding: Number = "bodyXPadding";
    body_y_padding: Number = "bodyYPadding";
    body_font_family: String = "bodyFontFamily";
    body_font_category: String = "bodyFontCategory";
    border_color: String = "borderColor";
    border_width: Number = "borderWidth";
    border_radius: Number = "borderRadius";
    button_body_color: String = "buttonBodyColor";
    button_body_x_padding: Number = "buttonBodyXPadding";
    button_body_y_padding: Number = "buttonBodyYPadding";
    button_border_color: String = "buttonBorderColor";
    button_border_width: Number = "buttonBorderWidth";
    button_border_radius: Number = "buttonBorderRadius";
    button_text_color: String = "buttonTextColor";
    button_text_format: Number = "buttonTextFormat";
    button_text_font_size: Number = "buttonTextFontSize";
    divider_color: String = "dividerColor";
    divider_border_width: Number = "dividerBorderWidth";
    text_base_color: String = "textBaseColor";
    text_base_font_size: Number = "textBaseFontSize";
    text_base_line_height: Number = "textBaseLineHeight";
    text_base_letter_spacing: Number = "textBaseLetterSpacing";
    text_link_color: String = "textLinkColor";
    heading1_color: String = "heading1Color";
    heading1_font_size: Number = "heading1FontSize";
    heading1_line_height: Number = "heading1LineHeight";
    heading1_letter_spacing: Number = "heading1LetterSpacing";
    heading2_color: String = "heading2Color";
    heading2_font_size: Number = "heading2FontSize";
    heading2_line_height: Number = "heading2LineHeight";
    heading2_letter_spacing: Number = "heading2LetterSpacing";
    heading3_color: String = "heading3Color";
    heading3_font_size: Number = "heading3FontSize";
    heading3_line_height: Number = "heading3LineHeight";
    heading3_letter_spacing: Number = "heading3LetterSpacing";
}

/// A theme.
///
/// Both shapes are read: the current one (`id`) and the one before JS SDK 7.0 (`themeId`,
/// with a top-level `success`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Theme {
    /// Its id, for `<Style themeId="..." />`.
    #[serde(alias = "themeId")]
    pub id: String,
    /// Its name.
    #[serde(default)]
    pub name: String,
    /// Its styles.
    #[serde(default)]
    pub styles: ThemeStyles,
    /// Whether it is the team's default theme.
    #[serde(default)]
    pub is_default: bool,
    /// Creation time (ISO 8601).
    #[serde(default)]
    pub created_at: Option<String>,
    /// Last change (ISO 8601).
    #[serde(default)]
    pub updated_at: Option<String>,
    /// On an update: how many emails the style change reached (`0` when only the name
    /// changed). `None` elsewhere.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub affected_email_count: Option<u64>,
}

/// Creates a theme (`POST /v1/themes`).
///
/// ```
/// use loops_client::themes::{CreateThemeRequest, ThemeStyles};
///
/// let mut styles = ThemeStyles::default();
/// styles.background_color = Some("#111827".into());
/// styles.body_x_padding = Some(24.into());
/// let data = CreateThemeRequest::new("Dark mode").styles(styles).to_api_request().unwrap();
/// assert_eq!(
///     data.body().unwrap(),
///     br##"{"name":"Dark mode","styles":{"backgroundColor":"#111827","bodyXPadding":24}}"##
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CreateThemeRequest {
    name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    styles: Option<ThemeStyles>,
}

impl CreateThemeRequest {
    /// A theme with this name and Loops' default styles.
    pub fn new(name: impl Into<String>) -> Self {
        CreateThemeRequest {
            name: name.into(),
            styles: None,
        }
    }

    /// Sets the styles.
    pub fn styles(mut self, styles: ThemeStyles) -> Self {
        self.styles = Some(styles);
        self
    }

    /// Validates and turns the request into data. Not repeated after an ambiguous failure.
    pub fn to_api_request(&self) -> Result<ApiRequest, ValidationError> {
        validate::require_non_empty_any("name", &self.name)?;
        Ok(
            ApiRequest::new(Endpoint::CreateTheme, Method::POST, "/v1/themes")
                .with_json_bytes(to_json(self)),
        )
    }
}

/// Changes a theme's name or styles (at least one). Style changes cascade to every email
/// that uses the theme, except where an email overrides the attribute.
///
/// ```
/// use loops_client::themes::{ThemeStyles, UpdateThemeRequest};
///
/// let mut styles = ThemeStyles::default();
/// styles.button_body_color = Some("#1d4ed8".into());
/// let data = UpdateThemeRequest::new().styles(styles).to_api_request("th1").unwrap();
/// assert_eq!(data.path(), "/v1/themes/th1");
/// assert!(UpdateThemeRequest::new().to_api_request("th1").is_err());
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct UpdateThemeRequest {
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    styles: Option<ThemeStyles>,
}

impl UpdateThemeRequest {
    /// An update that changes nothing yet.
    pub fn new() -> Self {
        UpdateThemeRequest::default()
    }

    /// Renames the theme.
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// Sets these style attributes (others stay as they are).
    pub fn styles(mut self, styles: ThemeStyles) -> Self {
        self.styles = Some(styles);
        self
    }

    /// `POST /v1/themes/{id}`; safe to repeat (it sets attributes).
    pub fn to_api_request(&self, id: &str) -> Result<ApiRequest, ValidationError> {
        let styles_empty = self.styles.as_ref().is_none_or(ThemeStyles::is_empty);
        if self.name.is_none() && styles_empty {
            return Err(ValidationError::EmptyUpdate {
                request: "UpdateThemeRequest",
            });
        }
        if let Some(name) = &self.name {
            validate::require_non_empty_any("name", name)?;
        }
        let path = id_path("/v1/themes", "themeId", id, "")?;
        Ok(ApiRequest::new(Endpoint::UpdateTheme, Method::POST, path)
            .with_json_bytes(to_json(self)))
    }
}

/// One page of themes, newest first.
pub fn list_themes_request(page: &PageRequest) -> Result<ApiRequest, ValidationError> {
    list_request(Endpoint::ListThemes, "/v1/themes", page)
}

/// One theme by id.
pub fn get_theme_request(id: &str) -> Result<ApiRequest, ValidationError> {
    get_by_id(Endpoint::GetTheme, "/v1/themes", "themeId", id)
}

#[cfg(feature = "client")]
pub use api::ThemesApi;

#[cfg(feature = "client")]
mod api {
    use super::{
        CreateThemeRequest, Theme, UpdateThemeRequest, get_theme_request, list_themes_request,
    };
    use crate::client::Client;
    use crate::pagination::paged_list;

    /// Themes. Get it with [`Client::themes`].
    ///
    /// ```no_run
    /// # async fn run(client: loops_client::Client) -> loops_client::Result<()> {
    /// use futures_util::TryStreamExt;
    /// use loops_client::themes::{CreateThemeRequest, ThemeStyles, UpdateThemeRequest};
    ///
    /// let themes = client.themes();
    /// let dark = themes.create(&CreateThemeRequest::new("Dark mode")).await?;
    /// let mut styles = ThemeStyles::default();
    /// styles.text_base_color = Some("#f9fafb".into());
    /// let updated = themes.update(&dark.id, &UpdateThemeRequest::new().styles(styles)).await?;
    /// println!("{} emails restyled", updated.affected_email_count.unwrap_or(0));
    /// let default = themes.list(None).try_filter(|t| std::future::ready(t.is_default)).try_next().await?;
    /// # let _ = default; Ok(()) }
    /// ```
    #[derive(Debug, Clone)]
    pub struct ThemesApi {
        pub(crate) client: Client,
    }

    impl ThemesApi {
        paged_list!(Theme, list_themes_request, "themes");

        /// One theme by id.
        pub async fn get(&self, id: &str) -> crate::Result<Theme> {
            self.client.execute(&get_theme_request(id)?).await?.json()
        }

        /// Creates a theme; not retried after an ambiguous failure.
        pub async fn create(&self, request: &CreateThemeRequest) -> crate::Result<Theme> {
            self.client
                .execute(&request.to_api_request()?)
                .await?
                .json()
        }

        /// Updates a theme; the answer carries `affected_email_count`.
        pub async fn update(&self, id: &str, request: &UpdateThemeRequest) -> crate::Result<Theme> {
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
    fn both_theme_shapes_parse() {
        let current: Theme = serde_json::from_value(json!({
            "id": "th1", "name": "Default", "isDefault": true,
            "styles": {"backgroundColor": "#fff", "bodyXPadding": 24, "newAttribute": "kept"},
            "createdAt": "2026-01-01T00:00:00Z", "updatedAt": "2026-01-02T00:00:00Z"
        }))
        .unwrap();
        assert_eq!(current.styles.body_x_padding, Some(24.into()));
        assert_eq!(current.styles.extra["newAttribute"], "kept");
        let written = serde_json::to_value(&current.styles).unwrap();
        assert_eq!(written["bodyXPadding"], json!(24));
        assert_eq!(written["newAttribute"], "kept");
        let legacy: Theme = serde_json::from_value(json!({
            "success": true, "themeId": "th2", "name": "Old", "styles": {}, "isDefault": false,
            "createdAt": "x", "updatedAt": "y"
        }))
        .unwrap();
        assert_eq!(legacy.id, "th2");
        let updated: Theme =
            serde_json::from_value(json!({"id": "th1", "affectedEmailCount": 7})).unwrap();
        assert_eq!(updated.affected_email_count, Some(7));
    }

    #[test]
    fn theme_requests() {
        assert_eq!(
            list_themes_request(&PageRequest::first(Some(20)))
                .unwrap()
                .path_and_query(),
            "/v1/themes?perPage=20"
        );
        assert_eq!(get_theme_request("a/b").unwrap().path(), "/v1/themes/a%2Fb");
        assert!(CreateThemeRequest::new(" ").to_api_request().is_err());
        let empty_styles = UpdateThemeRequest::new().styles(ThemeStyles::default());
        assert!(matches!(
            empty_styles.to_api_request("th1"),
            Err(ValidationError::EmptyUpdate { .. })
        ));
        let renamed = UpdateThemeRequest::new()
            .name("Dark v2")
            .to_api_request("th1")
            .unwrap();
        assert_eq!(renamed.body().unwrap(), br#"{"name":"Dark v2"}"#);
        assert_eq!(renamed.endpoint(), Endpoint::UpdateTheme);
    }
}
