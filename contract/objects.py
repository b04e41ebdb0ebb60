"""The data contract: every Eloqua object the pipelines read and every payload they load, declared once.

Spec: ``docs/data-contract.md`` sections 2 and 3. The sandbox's field catalog, the export definitions, the Arrow
schema of raw Parquet and the Spark schemas are all derived from these tuples; nothing else names a column.
Types are the lake's logical types: ``string``, ``int``, ``timestamp`` (UTC) and ``boolean``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

LogicalType = Literal["string", "int", "timestamp", "boolean"]


@dataclass(frozen=True)
class Column:
    """One column of raw Parquet and of an export definition's ``fields`` map.

    ``statement`` is the EML statement for contacts and activities. Custom-object columns have no fixed statement
    (it embeds instance-specific ids), so they carry the CDO field's ``name`` in ``cdo_field`` and the client
    resolves the statement from ``/customObjects/{id}/fields``.
    """

    name: str
    type: LogicalType
    statement: str | None = None
    cdo_field: str | None = None
    instance_time: bool = False
    """A non-system date: Eloqua exports and imports it in the instance's time zone (``[eloqua] timezone``),
    whatever ``areSystemTimestampsInUTC`` says. The lake holds it in UTC; the extract and the load convert."""


@dataclass(frozen=True)
class EloquaObject:
    """An exported Eloqua object: its raw-zone name, its columns, and for CDOs the custom object's name."""

    name: str
    columns: tuple[Column, ...]
    custom_object_name: str | None = None
    updated_at_statement: str | None = None

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    def column(self, name: str) -> Column:
        for col in self.columns:
            if col.name == name:
                return col
        raise KeyError(f"{self.name} has no column {name!r}")


def _contact_field(name: str, internal: str, type_: LogicalType = "string") -> Column:
    return Column(name, type_, statement=f"{{{{Contact.Field({internal})}}}}")


CONTACTS = EloquaObject(
    name="contacts",
    updated_at_statement="{{Contact.UpdatedAt}}",
    columns=(
        Column("ContactId", "string", statement="{{Contact.Id}}"),
        _contact_field("EmailAddress", "C_EmailAddress"),
        _contact_field("FirstName", "C_FirstName"),
        _contact_field("LastName", "C_LastName"),
        _contact_field("Company", "C_Company"),
        _contact_field("Title", "C_Title"),
        _contact_field("Country", "C_Country"),
        _contact_field("StateProv", "C_State_Prov"),
        _contact_field("City", "C_City"),
        _contact_field("Industry", "C_Industry1"),
        _contact_field("JobLevel", "C_Job_Level1"),
        _contact_field("LeadRating", "C_Lead_Rating1"),
        _contact_field("ProfileScore", "C_Lead_Profile_Score1", "int"),
        _contact_field("EngagementScore", "C_Lead_Engagement_Score1", "int"),
        Column("HardBouncedAt", "timestamp", statement="{{Contact.Field(C_Hard_Bounced_At1)}}", instance_time=True),
        Column("IsBounced", "boolean", statement="{{Contact.Email.IsBounced}}"),
        Column("IsSubscribed", "boolean", statement="{{Contact.Email.IsSubscribed}}"),
        Column("CreatedAt", "timestamp", statement="{{Contact.CreatedAt}}"),
        Column("UpdatedAt", "timestamp", statement="{{Contact.UpdatedAt}}"),
    ),
)

ACTIVITIES = EloquaObject(
    name="activities",
    columns=(
        Column("ActivityId", "string", statement="{{Activity.Id}}"),
        Column("ActivityType", "string", statement="{{Activity.Type}}"),
        Column("ActivityDate", "timestamp", statement="{{Activity.CreatedAt}}"),
        Column("ContactId", "string", statement="{{Activity.Contact.Id}}"),
        Column("EmailAddress", "string", statement="{{Activity.Field(EmailAddress)}}"),
        Column("AssetId", "string", statement="{{Activity.Asset.Id}}"),
        Column("AssetName", "string", statement="{{Activity.Asset.Name}}"),
        Column("CampaignId", "string", statement="{{Activity.Campaign.Id}}"),
        Column("SmtpErrorCode", "string", statement="{{Activity.Field(SmtpErrorCode)}}"),
        Column("SmtpStatusCode", "string", statement="{{Activity.Field(SmtpStatusCode)}}"),
    ),
)

# Columns that only Bounceback activities carry; other types export them as null.
BOUNCEBACK_ONLY_COLUMNS = ("SmtpErrorCode", "SmtpStatusCode")

# The activity types the pipelines read (spec section 2); the sandbox also serves the extra ones.
PIPELINE_ACTIVITY_TYPES = ("EmailSend", "EmailOpen", "EmailClickthrough", "FormSubmit", "WebVisit", "Bounceback")
SANDBOX_EXTRA_ACTIVITY_TYPES = ("Subscribe", "Unsubscribe", "PageView")

CAMPAIGN_RESPONSES = EloquaObject(
    name="campaign_responses",
    custom_object_name="Campaign Responses",
    columns=(
        Column("ResponseId", "string", cdo_field="ResponseId"),
        Column("ContactEmail", "string", cdo_field="ContactEmail"),
        Column("CampaignId", "string", cdo_field="CampaignId"),
        Column("ResponseStatus", "string", cdo_field="ResponseStatus"),
        Column("RespondedAt", "timestamp", cdo_field="RespondedAt", instance_time=True),
        Column("CampaignName", "string", cdo_field="CampaignName"),
        Column("CampaignType", "string", cdo_field="CampaignType"),
        Column("LeadRatingAtResponse", "string", cdo_field="LeadRatingAtResponse"),
        Column("StatusNormalized", "string", cdo_field="StatusNormalized"),
    ),
)

SFDC_CAMPAIGNS = EloquaObject(
    name="sfdc_campaigns",
    custom_object_name="Salesforce Campaigns",
    columns=(
        Column("CampaignId", "string", cdo_field="CampaignId"),
        Column("CampaignName", "string", cdo_field="CampaignName"),
        Column("CampaignType", "string", cdo_field="CampaignType"),
        Column("IsActive", "boolean", cdo_field="IsActive"),
        Column("StartDate", "timestamp", cdo_field="StartDate", instance_time=True),
    ),
)

OBJECTS: dict[str, EloquaObject] = {
    o.name: o for o in (CONTACTS, ACTIVITIES, CAMPAIGN_RESPONSES, SFDC_CAMPAIGNS)
}


@dataclass(frozen=True)
class Payload:
    """An ``import_ready`` dataset: its columns in order, the import identifier and the Eloqua target.

    ``target`` is ``contacts`` or a custom object's name; ``fields`` maps payload columns to the import
    definition's statements (CDO statements are resolved at load time, like exports).
    """

    pipeline: str
    columns: tuple[Column, ...]
    identifier: str
    target: str

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)


def _from(obj: EloquaObject, *names: str) -> tuple[Column, ...]:
    return tuple(obj.column(n) for n in names)


PAYLOADS: dict[str, Payload] = {
    p.pipeline: p
    for p in (
        Payload("contact_washing", _from(CONTACTS, "EmailAddress", "Country", "StateProv", "JobLevel"),
                identifier="EmailAddress", target="contacts"),
        Payload("hard_bounces", _from(CONTACTS, "EmailAddress", "HardBouncedAt", "IsBounced"),
                identifier="EmailAddress", target="contacts"),
        Payload("lead_scoring",
                _from(CONTACTS, "EmailAddress", "LeadRating", "ProfileScore", "EngagementScore"),
                identifier="EmailAddress", target="contacts"),
        Payload("campaign_responses",
                _from(CAMPAIGN_RESPONSES, "ResponseId", "CampaignName", "CampaignType", "LeadRatingAtResponse",
                      "StatusNormalized"),
                identifier="ResponseId", target="Campaign Responses"),
    )
}

PIPELINES: tuple[str, ...] = tuple(PAYLOADS)
