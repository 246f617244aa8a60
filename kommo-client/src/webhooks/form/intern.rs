//! Key interning: the segment names Kommo webhooks use are borrowed from a static
//! vocabulary, so the tree holds no copy of them and comparing two is often a pointer check.

use std::borrow::Cow;

/// The names Kommo webhooks are known to use come back borrowed, so the tree holds no copy.
pub(super) fn intern(segment: &str) -> Cow<'static, str> {
    // A `match` on literals compiles to a switch on the length and inline comparisons: no
    // allocation and no search for the names Kommo uses.
    let known: &'static str = match segment {
        "_links" => "_links",
        "account" => "account",
        "account_id" => "account_id",
        "action" => "action",
        "action_close" => "action_close",
        "add" => "add",
        "attachement" => "attachement",
        "attachment" => "attachment",
        "author" => "author",
        "avatar_url" => "avatar_url",
        "catalogs" => "catalogs",
        "category" => "category",
        "chat_id" => "chat_id",
        "code" => "code",
        "complete_before" => "complete_before",
        "complete_till" => "complete_till",
        "contact_id" => "contact_id",
        "contacts" => "contacts",
        "created_at" => "created_at",
        "created_by" => "created_by",
        "created_user_id" => "created_user_id",
        "custom_fields" => "custom_fields",
        "customers" => "customers",
        "date_create" => "date_create",
        "delete" => "delete",
        "element_id" => "element_id",
        "element_type" => "element_type",
        "entity_id" => "entity_id",
        "entity_type" => "entity_type",
        "enum" => "enum",
        "enum_code" => "enum_code",
        "enum_id" => "enum_id",
        "first_name" => "first_name",
        "group_id" => "group_id",
        "id" => "id",
        "is_in_work" => "is_in_work",
        "is_read" => "is_read",
        "last_modified" => "last_modified",
        "last_name" => "last_name",
        "leads" => "leads",
        "link" => "link",
        "linked_company_id" => "linked_company_id",
        "linked_leads_id" => "linked_leads_id",
        "main_user_id" => "main_user_id",
        "message" => "message",
        "metadata" => "metadata",
        "modified_by" => "modified_by",
        "modified_user_id" => "modified_user_id",
        "name" => "name",
        "note" => "note",
        "note_type" => "note_type",
        "old_pipeline_id" => "old_pipeline_id",
        "old_responsible_user_id" => "old_responsible_user_id",
        "old_status_id" => "old_status_id",
        "old_text" => "old_text",
        "origin" => "origin",
        "pipeline_id" => "pipeline_id",
        "price" => "price",
        "rate" => "rate",
        "responsible" => "responsible",
        "responsible_user_id" => "responsible_user_id",
        "restore" => "restore",
        "result" => "result",
        "self" => "self",
        "source_uid" => "source_uid",
        "status" => "status",
        "status_id" => "status_id",
        "subdomain" => "subdomain",
        "tags" => "tags",
        "talk" => "talk",
        "talk_id" => "talk_id",
        "task" => "task",
        "task_type" => "task_type",
        "text" => "text",
        "timestamp_x" => "timestamp_x",
        "type" => "type",
        "uid" => "uid",
        "unsorted" => "unsorted",
        "update" => "update",
        "updated_at" => "updated_at",
        "value" => "value",
        "values" => "values",
        _ => return Cow::Owned(segment.to_owned()),
    };
    Cow::Borrowed(known)
}

#[cfg(test)]
mod tests {
    use super::super::FormKey;
    use super::*;

    #[test]
    fn known_names_are_borrowed() {
        assert!(matches!(
            FormKey::from_segment("status"),
            FormKey::Name(Cow::Borrowed(_))
        ));
        assert!(matches!(
            FormKey::from_segment("elsewhere"),
            FormKey::Name(Cow::Owned(_))
        ));
    }
}
