//! What the writes and read models of leads, contacts and companies share, written once: the
//! three are the same kind of record on Kommo (a name, a responsible user, custom fields,
//! tags), so their builders and field accessors say the same thing.

/// The setters every entity write has: `update(id)`, `name`, `responsible`, `field`,
/// `add_tag`, `remove_tag` and `request_id`.
macro_rules! entity_write_setters {
    ($write:ty, $id:ty, $noun:literal) => {
        crate::entity::entity_write_setters!($write, $id, $noun, "Sets the name.");
    };
    // A contact's `name` is its full name, next to `first_name` and `last_name`.
    ($write:ty, $id:ty, $noun:literal, $name_doc:literal) => {
        impl $write {
            #[doc = concat!("An update of ", $noun, " `id`.")]
            #[must_use]
            pub fn update(id: $id) -> Self {
                Self {
                    id: Some(id),
                    ..Self::default()
                }
            }

            #[doc = $name_doc]
            #[must_use]
            pub fn name(mut self, name: impl Into<String>) -> Self {
                self.name = Some(name.into());
                self
            }

            /// Sets the responsible user.
            #[must_use]
            pub fn responsible(mut self, user: crate::ids::UserId) -> Self {
                self.responsible_user_id = Some(user);
                self
            }

            /// Adds a custom field write.
            #[must_use]
            pub fn field(mut self, value: crate::field_values::FieldValueUpdate) -> Self {
                self.custom_fields_values.push(value);
                self
            }

            /// Adds a tag, keeping the others (`tags_to_add`).
            #[must_use]
            pub fn add_tag(mut self, tag: impl Into<crate::common::TagRef>) -> Self {
                self.tags_to_add.push(tag.into());
                self
            }

            /// Removes a tag, keeping the others (`tags_to_delete`).
            #[must_use]
            pub fn remove_tag(mut self, tag: impl Into<crate::common::TagRef>) -> Self {
                self.tags_to_delete.push(tag.into());
                self
            }

            /// Sets the `request_id`, echoed back in the response to correlate results and
            /// errors.
            #[must_use]
            pub fn request_id(mut self, request_id: impl Into<String>) -> Self {
                self.request_id = Some(request_id.into());
                self
            }
        }
    };
}

/// The custom field accessors of a read model (`custom_field`, `custom_field_by_code`), and
/// with `contact_fields` those of the `EMAIL` and `PHONE` fields.
macro_rules! custom_field_getters {
    ($model:ty) => {
        impl $model {
            /// The custom field with this id.
            #[must_use]
            pub fn custom_field(
                &self,
                id: crate::ids::CustomFieldId,
            ) -> Option<&crate::field_values::CustomFieldValues> {
                self.custom_fields_values.by_id(id)
            }

            /// The custom field with this code (`EMAIL`, `PHONE`, ...; case-insensitive).
            #[must_use]
            pub fn custom_field_by_code(
                &self,
                code: &str,
            ) -> Option<&crate::field_values::CustomFieldValues> {
                self.custom_fields_values.by_code(code)
            }
        }
    };
    ($model:ty, contact_fields) => {
        crate::entity::custom_field_getters!($model);

        impl $model {
            /// Every value of the `EMAIL` field, in order.
            #[must_use]
            pub fn emails(&self) -> Vec<String> {
                self.custom_fields_values.texts_by_code("EMAIL")
            }

            /// Every value of the `PHONE` field, in order.
            #[must_use]
            pub fn phones(&self) -> Vec<String> {
                self.custom_fields_values.texts_by_code("PHONE")
            }
        }
    };
}

pub(crate) use {custom_field_getters, entity_write_setters};
