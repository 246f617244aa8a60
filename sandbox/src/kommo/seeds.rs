//! The account settings a Kommo sandbox is seeded with: pipelines and their statuses, custom
//! field definitions and their options, users, task types, and the ids of the default seed
//! data and of the SaaS onboarding preset.

use kommo_client::common::EntityType;
use kommo_client::custom_fields::FieldType;
use kommo_client::ids::{CustomFieldId, EnumId, PipelineId, StatusId, TaskTypeId, UserId};
use serde::{Deserialize, Serialize};

/// Ids of the default configuration's seed data (no preset).
pub mod defaults {
    use kommo_client::ids::{AccountId, CustomFieldId, PipelineId, StatusId, UserId};

    /// The account.
    pub const ACCOUNT_ID: AccountId = AccountId(32_000_000);
    /// The integration's user: API writes are made as this user (an admin).
    pub const API_USER: UserId = UserId(9_000_001);
    /// The manager who "clicks in the UI": scenario actions are made as this user.
    pub const UI_USER: UserId = UserId(9_000_002);
    /// The default pipeline, "Sales".
    pub const PIPELINE_ID: PipelineId = PipelineId(7000);
    /// Its incoming-leads column (`type` 1).
    pub const INCOMING: StatusId = StatusId(6000);
    /// "Initial contact": where leads created without a status go.
    pub const INITIAL_CONTACT: StatusId = StatusId(6001);
    /// "Negotiation".
    pub const NEGOTIATION: StatusId = StatusId(6002);
    /// Contacts: `PHONE` (multitext).
    pub const CONTACT_PHONE: CustomFieldId = CustomFieldId(800_001);
    /// Contacts: `EMAIL` (multitext).
    pub const CONTACT_EMAIL: CustomFieldId = CustomFieldId(800_002);
    /// Contacts: `POSITION` (text).
    pub const CONTACT_POSITION: CustomFieldId = CustomFieldId(800_003);
    /// Companies: `PHONE` (multitext).
    pub const COMPANY_PHONE: CustomFieldId = CustomFieldId(800_101);
    /// Companies: `EMAIL` (multitext).
    pub const COMPANY_EMAIL: CustomFieldId = CustomFieldId(800_102);
    /// Companies: `WEB` (url).
    pub const COMPANY_WEB: CustomFieldId = CustomFieldId(800_103);
    /// Companies: `ADDRESS` (textarea).
    pub const COMPANY_ADDRESS: CustomFieldId = CustomFieldId(800_104);
}

/// Ids of the [`Config::saas_onboarding`](super::Config::saas_onboarding) preset.
pub mod saas_onboarding {
    use kommo_client::ids::{CustomFieldId, EnumId, PipelineId, StatusId};

    /// The "SaaS sales" pipeline (the only, and main, pipeline of the preset).
    pub const PIPELINE_ID: PipelineId = PipelineId(7001);
    /// "Incoming" (the incoming-leads column, `type` 1).
    pub const INCOMING: StatusId = StatusId(5000);
    /// "Trial".
    pub const TRIAL: StatusId = StatusId(5001);
    /// "Activated".
    pub const ACTIVATED: StatusId = StatusId(5002);
    /// "Upgrade offered".
    pub const UPGRADE_OFFERED: StatusId = StatusId(5003);
    /// "Nurture".
    pub const NURTURE: StatusId = StatusId(5004);
    /// "Closed - won" (the system status, the same id in every pipeline).
    pub const WON: StatusId = StatusId::WON;
    /// "Closed - lost".
    pub const LOST: StatusId = StatusId::LOST;
    /// Leads: the `PLAN` select field.
    pub const PLAN_FIELD: CustomFieldId = CustomFieldId(912_340);
    /// `PLAN` option `pro`.
    pub const PLAN_PRO: EnumId = EnumId(912_341);
    /// `PLAN` option `team`.
    pub const PLAN_TEAM: EnumId = EnumId(912_342);
    /// `PLAN` option `basic`.
    pub const PLAN_BASIC: EnumId = EnumId(912_343);
    /// Leads: the numeric "Trial days" field (code `TRIAL_DAYS`).
    pub const TRIAL_DAYS_FIELD: CustomFieldId = CustomFieldId(912_345);
}

/// A pipeline stage to seed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct StatusSeed {
    /// The id (142 and 143 are the system "won"/"lost" statuses of every pipeline).
    pub id: StatusId,
    /// The name.
    pub name: String,
    /// The sort order.
    #[serde(default)]
    pub sort: i64,
    /// The color.
    #[serde(default = "default_color")]
    pub color: String,
    /// `1` for the incoming-leads column, `0` otherwise.
    #[serde(default, rename = "type")]
    pub kind: i64,
    /// Whether users may edit it.
    #[serde(default = "yes")]
    pub is_editable: bool,
}

fn default_color() -> String {
    "#99ccff".to_owned()
}

fn yes() -> bool {
    true
}

impl StatusSeed {
    /// A regular, editable stage.
    pub fn new(id: StatusId, name: impl Into<String>) -> Self {
        StatusSeed {
            id,
            name: name.into(),
            sort: 0,
            color: default_color(),
            kind: 0,
            is_editable: true,
        }
    }

    /// Makes it the incoming-leads column (`type` 1, not editable).
    pub fn incoming(mut self) -> Self {
        self.kind = 1;
        self.is_editable = false;
        self.color = "#c1c1c1".to_owned();
        self
    }

    /// Sets the sort order.
    pub fn sort(mut self, sort: i64) -> Self {
        self.sort = sort;
        self
    }

    /// Sets the color.
    pub fn color(mut self, color: impl Into<String>) -> Self {
        self.color = color.into();
        self
    }

    /// "Closed - won" (142).
    pub fn won() -> Self {
        StatusSeed {
            is_editable: false,
            ..StatusSeed::new(StatusId::WON, "Closed - won")
                .sort(10_000)
                .color("#CCFF66")
        }
    }

    /// "Closed - lost" (143).
    pub fn lost() -> Self {
        StatusSeed {
            is_editable: false,
            ..StatusSeed::new(StatusId::LOST, "Closed - lost")
                .sort(11_000)
                .color("#D5D8DB")
        }
    }
}

/// A pipeline to seed. Statuses 142 and 143 are added when missing: every Kommo pipeline has
/// them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct PipelineSeed {
    /// The id.
    pub id: PipelineId,
    /// The name.
    pub name: String,
    /// The sort order.
    #[serde(default)]
    pub sort: i64,
    /// Whether it is the main pipeline (new leads without a pipeline go there).
    #[serde(default)]
    pub is_main: bool,
    /// Whether the incoming-leads column is on.
    #[serde(default = "yes")]
    pub is_unsorted_on: bool,
    /// Whether it is archived.
    #[serde(default)]
    pub is_archive: bool,
    /// The statuses, in order.
    #[serde(default)]
    pub statuses: Vec<StatusSeed>,
}

impl PipelineSeed {
    /// A pipeline without statuses yet (142 and 143 are added when the sandbox starts).
    pub fn new(id: PipelineId, name: impl Into<String>) -> Self {
        PipelineSeed {
            id,
            name: name.into(),
            sort: 1,
            is_main: false,
            is_unsorted_on: true,
            is_archive: false,
            statuses: Vec::new(),
        }
    }

    /// Adds a status; its sort order is set after the previous one's when left at 0.
    pub fn status(mut self, mut status: StatusSeed) -> Self {
        if status.sort == 0 {
            status.sort = self
                .statuses
                .iter()
                .map(|s| s.sort)
                .filter(|s| *s < 10_000)
                .max()
                .unwrap_or(0)
                + 10;
        }
        self.statuses.push(status);
        self
    }

    /// Makes it the main pipeline.
    pub fn main(mut self) -> Self {
        self.is_main = true;
        self
    }

    /// Sets the sort order.
    pub fn sort(mut self, sort: i64) -> Self {
        self.sort = sort;
        self
    }

    /// The status with this id.
    pub fn find_status(&self, id: StatusId) -> Option<&StatusSeed> {
        self.statuses.iter().find(|s| s.id == id)
    }

    /// With 142 and 143 present, system statuses last.
    pub(crate) fn completed(mut self) -> Self {
        if self.find_status(StatusId::WON).is_none() {
            self.statuses.push(StatusSeed::won());
        }
        if self.find_status(StatusId::LOST).is_none() {
            self.statuses.push(StatusSeed::lost());
        }
        self
    }
}

/// One option of a select-like or multitext field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct EnumSeed {
    /// The option id.
    pub id: EnumId,
    /// The label (for multitext fields, the kind: `WORK`, `MOB`, ...).
    pub value: String,
    /// The sort order.
    #[serde(default)]
    pub sort: i64,
    /// The option code (`enum_code`); multitext kinds use their label as the code.
    #[serde(default)]
    pub code: Option<String>,
}

impl EnumSeed {
    /// An option.
    pub fn new(id: EnumId, value: impl Into<String>) -> Self {
        EnumSeed {
            id,
            value: value.into(),
            sort: 0,
            code: None,
        }
    }

    /// Sets the option code.
    pub fn code(mut self, code: impl Into<String>) -> Self {
        self.code = Some(code.into());
        self
    }
}

/// A custom field definition to seed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct CustomFieldSeed {
    /// The field id.
    pub id: CustomFieldId,
    /// The entity type: `leads`, `contacts` or `companies`.
    pub entity_type: EntityType,
    /// The name.
    pub name: String,
    /// The code (`PHONE`, `EMAIL`, `PLAN`, ...), by which writes may address the field.
    #[serde(default)]
    pub code: Option<String>,
    /// The type (`text`, `numeric`, `select`, `multitext`, `date`, ...).
    #[serde(rename = "type")]
    pub field_type: FieldType,
    /// The sort order.
    #[serde(default)]
    pub sort: i64,
    /// The options of select-like and multitext fields.
    #[serde(default)]
    pub enums: Vec<EnumSeed>,
    /// Whether Kommo predefined it (PHONE, EMAIL, ...).
    #[serde(default)]
    pub is_predefined: bool,
    /// Whether only the API may change it.
    #[serde(default)]
    pub is_api_only: bool,
}

impl CustomFieldSeed {
    /// A field without options.
    pub fn new(
        entity_type: EntityType,
        id: CustomFieldId,
        name: impl Into<String>,
        field_type: FieldType,
    ) -> Self {
        CustomFieldSeed {
            id,
            entity_type,
            name: name.into(),
            code: None,
            field_type,
            sort: 0,
            enums: Vec::new(),
            is_predefined: false,
            is_api_only: false,
        }
    }

    /// Sets the code.
    pub fn code(mut self, code: impl Into<String>) -> Self {
        self.code = Some(code.into());
        self
    }

    /// Adds an option.
    pub fn option(mut self, option: EnumSeed) -> Self {
        let mut option = option;
        if option.sort == 0 {
            option.sort = (self.enums.len() as i64 + 1) * 2;
        }
        self.enums.push(option);
        self
    }

    /// A predefined multitext field (`PHONE` or `EMAIL`) with its kinds, option ids counting
    /// up from `first_enum`.
    pub fn multitext(
        entity_type: EntityType,
        id: CustomFieldId,
        name: &str,
        code: &str,
        kinds: &[&str],
        first_enum: u64,
    ) -> Self {
        let mut seed = CustomFieldSeed::new(entity_type, id, name, FieldType::Multitext).code(code);
        seed.is_predefined = true;
        for (i, kind) in kinds.iter().enumerate() {
            seed = seed.option(EnumSeed::new(EnumId(first_enum + i as u64), *kind).code(*kind));
        }
        seed
    }

    /// The option with this id.
    pub fn find_enum(&self, id: EnumId) -> Option<&EnumSeed> {
        self.enums.iter().find(|e| e.id == id)
    }
}

/// The multitext kinds of `PHONE`.
pub const PHONE_KINDS: &[&str] = &["WORK", "WORKDD", "MOB", "FAX", "HOME", "OTHER"];
/// The multitext kinds of `EMAIL`.
pub const EMAIL_KINDS: &[&str] = &["WORK", "PRIV", "OTHER"];

/// A user of the account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct UserSeed {
    /// The id.
    pub id: UserId,
    /// The name.
    pub name: String,
    /// The login email.
    pub email: String,
    /// The interface language.
    #[serde(default = "default_lang")]
    pub lang: String,
    /// Whether the user is an admin (only admins may list users and manage webhooks).
    #[serde(default)]
    pub is_admin: bool,
    /// Whether the user is active.
    #[serde(default = "yes")]
    pub is_active: bool,
}

fn default_lang() -> String {
    "en".to_owned()
}

impl UserSeed {
    /// An active, non-admin user.
    pub fn new(id: UserId, name: impl Into<String>, email: impl Into<String>) -> Self {
        UserSeed {
            id,
            name: name.into(),
            email: email.into(),
            lang: default_lang(),
            is_admin: false,
            is_active: true,
        }
    }

    /// Makes the user an admin.
    pub fn admin(mut self) -> Self {
        self.is_admin = true;
        self
    }
}

/// A task type besides the built-in follow-up (1) and meeting (2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct TaskTypeSeed {
    /// The id.
    pub id: TaskTypeId,
    /// The name.
    pub name: String,
    /// The code, if any.
    #[serde(default)]
    pub code: Option<String>,
}

impl TaskTypeSeed {
    /// A task type.
    pub fn new(id: TaskTypeId, name: impl Into<String>) -> Self {
        TaskTypeSeed {
            id,
            name: name.into(),
            code: None,
        }
    }
}
