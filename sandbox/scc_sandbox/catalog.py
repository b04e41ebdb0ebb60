"""Field catalog of the sandbox: the EML statements of each entity, their metadata and store columns.

Every statement of ``contract.objects`` resolves here (contacts, activities of every pipeline and extra type,
the two custom objects by their ``cdo_field`` names). Statements are matched case-insensitively and ignoring
whitespace; ``resolve`` returns the ``Field`` whose ``key`` is the column of the store's table.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from contract.objects import (
    ACTIVITIES,
    CAMPAIGN_RESPONSES,
    CONTACTS,
    PIPELINE_ACTIVITY_TYPES,
    SANDBOX_EXTRA_ACTIVITY_TYPES,
    SFDC_CAMPAIGNS,
    EloquaObject,
)

ACTIVITY_TYPES: tuple[str, ...] = PIPELINE_ACTIVITY_TYPES + SANDBOX_EXTRA_ACTIVITY_TYPES

# Metadata data types -> the EEL comparison type.
_FILTER_TYPE = {
    "string": "string",
    "emailAddress": "string",
    "largeText": "string",
    "text": "string",
    "number": "number",
    "date": "date",
    "boolean": "boolean",
}


@dataclass(frozen=True)
class Field:
    """One exportable statement. ``key`` is the store column; aliases resolve to the same column."""

    key: str
    statement: str
    name: str
    internal_name: str
    data_type: str
    field_id: int
    read_only: bool = False
    unique: bool = False
    listed: bool = True
    aliases: tuple[str, ...] = ()
    system: bool = False  # a system timestamp: UTC when a definition asks areSystemTimestampsInUTC
    source: str | None = None  # SQL of a linked value (another table's column); None: the stored column
    activity_types: tuple[str, ...] | None = None  # activity fields: the types that carry the field

    def in_instance_time(self, system_timestamps_in_utc: bool) -> bool:
        """Whether an export with that flag prints this date field in the instance's time zone."""
        return self.data_type == "date" and not (self.system and system_timestamps_in_utc)

    @property
    def filter_type(self) -> str:
        return _FILTER_TYPE[self.data_type]


@dataclass
class Entity:
    """An exportable entity: its name in URIs, its store table, its id column and its fields."""

    name: str  # 'contacts', 'accounts', 'activities' or 'customObjects/41'
    table: str
    fields: tuple[Field, ...]
    id_key: str = "id"
    label: str = ""
    _index: dict[str, Field] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        for f in self.fields:
            for statement in (f.statement, *f.aliases):
                self._index[normalize_statement(statement)] = f

    def resolve(self, statement: str) -> Field | None:
        return self._index.get(normalize_statement(statement))

    @property
    def columns(self) -> tuple[Field, ...]:
        """One field per store column (aliases and linked fields dropped), in catalog order."""
        seen: dict[str, Field] = {}
        for f in self.fields:
            if f.source is None:
                seen.setdefault(f.key, f)
        return tuple(seen.values())

    def field_by_id(self, field_id: int) -> Field | None:
        return next((f for f in self.fields if f.field_id == field_id and f.listed), None)

    def listed_fields(self) -> list[Field]:
        return [f for f in self.fields if f.listed]


_WS = re.compile(r"\s+")


def normalize_statement(statement: str) -> str:
    return _WS.sub("", statement).lower()


# --- contacts -----------------------------------------------------------------------------------------------


def _cf(internal: str, name: str, data_type: str = "string", fid: int = 0, **kw: Any) -> Field:
    return Field(internal.lower(), f"{{{{Contact.Field({internal})}}}}", name, internal, data_type, fid, **kw)


_CONTACT_FIELDS: tuple[Field, ...] = (
    Field(
        "id",
        "{{Contact.Id}}",
        "Contact ID",
        "ContactID",
        "number",
        100000,
        read_only=True,
        unique=True,
        listed=False,
    ),
    _cf("C_EmailAddress", "Email Address", "emailAddress", 100001, unique=True),
    _cf("C_FirstName", "First Name", fid=100002),
    _cf("C_LastName", "Last Name", fid=100003),
    _cf("C_Company", "Company", fid=100004),
    _cf("C_Title", "Title", fid=100005),
    _cf("C_Country", "Country", fid=100006),
    _cf("C_State_Prov", "State or Province", fid=100007),
    _cf("C_City", "City", fid=100008),
    _cf("C_Industry1", "Industry", fid=100009),
    _cf("C_Job_Level1", "Job Level", fid=100010),
    _cf("C_Lead_Rating1", "Lead Rating", fid=100011),
    _cf("C_Lead_Profile_Score1", "Lead Profile Score", "number", 100012),
    _cf("C_Lead_Engagement_Score1", "Lead Engagement Score", "number", 100013),
    _cf("C_Hard_Bounced_At1", "Hard Bounced At", "date", 100014),
    Field(
        "is_bounced",
        "{{Contact.Email.IsBounced}}",
        "Email Is Bounced",
        "IsBounced",
        "boolean",
        100015,
        listed=False,
    ),
    Field(
        "is_subscribed",
        "{{Contact.Email.IsSubscribed}}",
        "Email Is Subscribed",
        "IsSubscribed",
        "boolean",
        100016,
        listed=False,
    ),
    Field(
        "created_at",
        "{{Contact.Field(C_DateCreated)}}",
        "Date Created",
        "C_DateCreated",
        "date",
        100017,
        read_only=True,
        aliases=("{{Contact.CreatedAt}}",),
        system=True,
    ),
    Field(
        "updated_at",
        "{{Contact.Field(C_DateModified)}}",
        "Date Modified",
        "C_DateModified",
        "date",
        100018,
        read_only=True,
        aliases=("{{Contact.UpdatedAt}}",),
        system=True,
    ),
    _cf("C_Salutation", "Salutation", fid=100019),
    _cf("C_BusPhone", "Business Phone", fid=100020),
    _cf("C_MobilePhone", "Mobile Phone", fid=100021),
    _cf("C_Address1", "Address 1", fid=100022),
    _cf("C_Address2", "Address 2", fid=100023),
    _cf("C_Zip_Postal", "Zip or Postal Code", fid=100024),
    _cf("C_Department1", "Department", fid=100025),
    # Eloqua's other standard contact fields (values are blank in the synthetic data unless noted)
    _cf("C_EmailDisplayName", "Email Display Name", fid=100026),
    _cf("C_Address3", "Address 3", fid=100027),
    _cf("C_Fax", "Fax", fid=100028),
    _cf("C_Salesperson", "Salesperson", fid=100029),
    _cf("ContactIDExt", "Eloqua Contact ID", fid=100030, read_only=True, unique=True),
    _cf("C_SFDCContactID", "SFDC Contact ID", fid=100031),
    _cf("C_SFDCLeadID", "SFDC Lead ID", fid=100032),
    _cf("C_SFDCAccountID", "SFDC Account ID", fid=100033),
    _cf("C_LastModifiedByExtIntegrateSystem", "Last Modified by CRM System", "date", 100034, read_only=True,
        system=True),
    _cf("C_SFDCLastCampaignID", "SFDC Last Campaign ID", fid=100035),
    _cf("C_SFDCLastCampaignStatus", "SFDC Last Campaign Status", fid=100036),
    _cf("C_Lead_Source___Most_Recent1", "Lead Source - Most Recent", fid=100037),
    _cf("C_Lead_Source___Original1", "Lead Source - Original", fid=100038),
    _cf("C_Annual_Revenue1", "Annual Revenue", fid=100039),
    _cf("C_Lead_Status1", "Lead Status", fid=100040),
    _cf("C_Email_Address_Domain", "Email Address Domain", fid=100041, read_only=True),
    _cf("C_FirstAndLast", "First and Last Name", fid=100042, read_only=True),
    _cf("C_Company_Size1", "Company Size", fid=100043),
    _cf("C_Job_Role1", "Job Role", fid=100044),
    _cf("C_Language1", "Language", fid=100045),
    _cf("C_Opt_In_Date1", "Opt-In Date", "date", 100046),
    Field("email_format", "{{Contact.Email.Format}}", "Email Format Preference", "EmailFormat", "string", 0,
          listed=False),
    # the lead scoring model's statements (/contacts/scoring/models) read the stored score fields
    *(
        Field(f"model1_{attr.lower()}", f"{{{{Contact.LeadScore.Model[1].{attr}}}}}", name, attr, dtype, 0,
              read_only=True, listed=False, source=column)
        for attr, name, dtype, column in (
            ("Rating", "Rating", "string", "c_lead_rating1"),
            ("ProfileScore", "Profile Score", "number", "c_lead_profile_score1"),
            ("EngagementScore", "Engagement Score", "number", "c_lead_engagement_score1"),
        )
    ),
    # the contact's account (the link {{Contact.Account.Field(...)}} statements follow)
    Field("account_id", "{{Contact.Field(C_Account_Link)}}", "Account", "C_Account_Link", "number", 0,
          read_only=True, listed=False),
)


def _linked_account_fields() -> tuple[Field, ...]:
    """``{{Contact.Account.Field(M_...)}}``: every account field, read through the contact's account."""
    out = []
    for f in _ACCOUNT_FIELDS:
        if f.internal_name == "AccountID":
            continue
        out.append(Field(
            f"account_{f.key}", f"{{{{Contact.Account.Field({f.internal_name})}}}}", f"Account {f.name}",
            f.internal_name, f.data_type, 0, read_only=True, listed=False, system=f.system,
            source=f'(SELECT "{f.key}" FROM accounts WHERE accounts.id = contacts.account_id)'))
    return tuple(out)


def _af(internal: str, name: str, data_type: str = "string", fid: int = 0, **kw: Any) -> Field:
    return Field(internal.lower(), f"{{{{Account.Field({internal})}}}}", name, internal, data_type, fid, **kw)


_ACCOUNT_FIELDS: tuple[Field, ...] = (
    Field(
        "id",
        "{{Account.Id}}",
        "Account ID",
        "AccountID",
        "number",
        200000,
        read_only=True,
        unique=True,
        listed=False,
    ),
    _af("M_CompanyName", "Company Name", fid=200001),
    _af("M_Address1", "Address 1", fid=200002),
    _af("M_City", "City", fid=200003),
    _af("M_State_Prov", "State or Province", fid=200004),
    _af("M_Zip_Postal", "Zip or Postal Code", fid=200005),
    _af("M_Country", "Country", fid=200006),
    _af("M_BusPhone", "Business Phone", fid=200007),
    _af("M_Industry", "Industry", fid=200008),
    _af("CompanyIDExt", "Eloqua Company ID", fid=200009, unique=True),
    Field(
        "created_at",
        "{{Account.Field(M_DateCreated)}}",
        "Date Created",
        "M_DateCreated",
        "date",
        200010,
        read_only=True,
        aliases=("{{Account.CreatedAt}}",),
        system=True,
    ),
    Field(
        "updated_at",
        "{{Account.Field(M_DateModified)}}",
        "Date Modified",
        "M_DateModified",
        "date",
        200011,
        read_only=True,
        aliases=("{{Account.UpdatedAt}}",),
        system=True,
    ),
)

ACCOUNT_ENTITY = Entity("accounts", "accounts", _ACCOUNT_FIELDS, label="Account")
CONTACT_ENTITY = Entity(
    "contacts", "contacts", _CONTACT_FIELDS + _linked_account_fields(), label="Contact"
)


# --- activities ---------------------------------------------------------------------------------------------


# Which Activity.Field(...) names each type carries, beyond the fields every type has.
_TYPE_FIELDS: dict[str, tuple[str, ...]] = {
    "EmailSend": ("EmailRecipientId", "SubjectLine", "EmailWebLink", "EmailDeploymentId", "EmailSendType"),
    "EmailOpen": (
        "IpAddress",
        "EmailRecipientId",
        "SubjectLine",
        "EmailWebLink",
        "EmailDeploymentId",
        "EmailSendType",
    ),
    "EmailClickthrough": (
        "IpAddress",
        "EmailRecipientId",
        "SubjectLine",
        "EmailWebLink",
        "EmailClickedThruLink",
        "EmailDeploymentId",
        "EmailSendType",
    ),
    "FormSubmit": ("RawData",),
    "WebVisit": ("IpAddress", "ReferrerUrl", "NumberOfPages", "FirstPageViewUrl", "Duration"),
    "Bounceback": ("EmailRecipientId", "EmailDeploymentId", "SmtpErrorCode", "SmtpStatusCode", "SmtpMessage"),
    "Subscribe": ("EmailRecipientId",),
    "Unsubscribe": ("EmailRecipientId",),
    "PageView": ("IpAddress", "Url", "ReferrerUrl", "WebVisitId", "IsWebTrackingOptedIn"),
}


def _types_with(name: str) -> tuple[str, ...]:
    return tuple(t for t in ACTIVITY_TYPES if name in _TYPE_FIELDS[t])


def _act(key: str, statement: str, name: str, data_type: str, fid: int, **kw: Any) -> Field:
    kw.setdefault("activity_types", ACTIVITY_TYPES)
    return Field(key, statement, name, name, data_type, fid, read_only=True, **kw)


def _actf(internal: str, data_type: str, fid: int, name: str | None = None) -> Field:
    key = re.sub(r"(?<!^)(?=[A-Z])", "_", internal).lower()
    return Field(
        key,
        f"{{{{Activity.Field({internal})}}}}",
        name or internal,
        internal,
        data_type,
        fid,
        read_only=True,
        activity_types=ACTIVITY_TYPES if internal == "EmailAddress" else _types_with(internal),
    )


# Named as Oracle's activity field lists name them (the names clients use as export column names).
_ACTIVITY_SYSTEM: tuple[Field, ...] = (
    _act("id", "{{Activity.Id}}", "ActivityId", "number", 300001),
    _act("type", "{{Activity.Type}}", "ActivityType", "string", 300002),
    _act("created_at", "{{Activity.CreatedAt}}", "ActivityDate", "date", 300003, system=True),
    _act("contact_id", "{{Activity.Contact.Id}}", "ContactId", "number", 300004),
    _act("visitor_id", "{{Activity.Visitor.Id}}", "VisitorId", "number", 300005),
    _act("visitor_external_id", "{{Activity.Visitor.ExternalId}}", "VisitorExternalId", "string", 300006),
    _act("asset_type", "{{Activity.Asset.Type}}", "AssetType", "string", 300007),
    _act("asset_name", "{{Activity.Asset.Name}}", "AssetName", "string", 300008),
    _act("asset_id", "{{Activity.Asset.Id}}", "AssetId", "number", 300009),
    _act("campaign_id", "{{Activity.Campaign.Id}}", "CampaignId", "number", 300010),
    _act("external_id", "{{Activity.ExternalId}}", "ExternalId", "string", 300011),
    # the activity's campaign (values made up from the campaign id, the same on every export)
    _act(
        "campaign_crm_id",
        "{{Activity.Campaign.Field(CRMCampaignId)}}",
        "CRMCampaignId",
        "string",
        300012,
        source="CASE WHEN campaign_id IS NULL THEN NULL ELSE printf('7015g%013d', campaign_id) END",
    ),
    _act(
        "campaign_name",
        "{{Activity.Campaign.Field(CampaignName)}}",
        "CampaignName",
        "string",
        300013,
        source="CASE WHEN campaign_id IS NULL THEN NULL ELSE 'Campaign ' || campaign_id END",
    ),
)
_ACTIVITY_NAMED: tuple[Field, ...] = tuple(
    _actf(name, dtype, 300100 + i, "DeploymentId" if name == "EmailDeploymentId" else None)
    for i, (name, dtype) in enumerate(
        (
            ("EmailAddress", "emailAddress"),
            ("IpAddress", "string"),
            ("EmailRecipientId", "string"),
            ("SubjectLine", "string"),
            ("EmailWebLink", "string"),
            ("EmailClickedThruLink", "string"),
            ("EmailDeploymentId", "number"),
            ("EmailSendType", "string"),
            ("SmtpErrorCode", "string"),
            ("SmtpStatusCode", "string"),
            ("SmtpMessage", "string"),
            ("ReferrerUrl", "string"),
            ("NumberOfPages", "number"),
            ("FirstPageViewUrl", "string"),
            ("Duration", "number"),
            ("WebVisitId", "number"),
            ("Url", "string"),
            ("IsWebTrackingOptedIn", "boolean"),
            ("RawData", "largeText"),
        )
    )
)


def _activity_contact_fields() -> tuple[Field, ...]:
    """``{{Activity.Contact.Field(C_...)}}``: the activity's contact's fields (at most
    ``MAX_ACTIVITY_CONTACT_FIELDS`` per export, never in a filter)."""
    return tuple(
        Field(
            f"contact_{f.key}",
            f"{{{{Activity.Contact.Field({f.internal_name})}}}}",
            f"Contact {f.name}",
            f.internal_name,
            f.data_type,
            0,
            read_only=True,
            listed=False,
            system=f.system,
            source=f'(SELECT "{f.key}" FROM contacts WHERE contacts.id = activities.contact_id)',
            activity_types=ACTIVITY_TYPES,
        )
        for f in _CONTACT_FIELDS
        if f.statement.startswith("{{Contact.Field(")
    )


MAX_ACTIVITY_CONTACT_FIELDS = 10
ACTIVITY_ENTITY = Entity(
    "activities",
    "activities",
    _ACTIVITY_SYSTEM + _ACTIVITY_NAMED + _activity_contact_fields(),
    label="Activity",
)


def is_activity_contact_field(f: Field) -> bool:
    return f.statement.startswith("{{Activity.Contact.Field(")


def activity_fields(activity_type: str) -> list[Field]:
    """The fields ``/activities/fields?activityType=T`` lists: those whose ``activity_types`` hold T."""
    return [f for f in ACTIVITY_ENTITY.listed_fields() if activity_type in (f.activity_types or ())]


def canonical_activity_type(text: str) -> str | None:
    folded = text.strip().casefold()
    return next((t for t in ACTIVITY_TYPES if t.casefold() == folded), None)


# --- custom objects -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CustomObject:
    id: int
    name: str
    entity: Entity
    unique_field_id: int
    email_field_id: int | None
    display_field_id: int


_CDO_TYPES = {"string": "text", "timestamp": "date", "boolean": "boolean", "int": "number"}
_UNIQUE_CDO_FIELDS = {"ResponseId", "CampaignId"}


def _custom_object(
    cdo_id: int, obj: EloquaObject, first_field_id: int, unique: str, email: str | None, display: str
) -> CustomObject:
    fields: list[Field] = [
        Field(
            "id",
            f"{{{{CustomObject[{cdo_id}].Id}}}}",
            "Id",
            "Id",
            "number",
            0,
            read_only=True,
            unique=True,
            listed=False,
        ),
        Field(
            "external_id",
            f"{{{{CustomObject[{cdo_id}].ExternalId}}}}",
            "External Id",
            "ExternalId",
            "string",
            0,
            listed=False,
        ),
        Field(
            "created_at",
            f"{{{{CustomObject[{cdo_id}].CreatedAt}}}}",
            "Created At",
            "CreatedAt",
            "date",
            0,
            read_only=True,
            listed=False,
            system=True,
        ),
        Field(
            "updated_at",
            f"{{{{CustomObject[{cdo_id}].UpdatedAt}}}}",
            "Updated At",
            "UpdatedAt",
            "date",
            0,
            read_only=True,
            listed=False,
            system=True,
        ),
    ]
    ids: dict[str, int] = {}
    for i, col in enumerate(obj.columns):
        fid = first_field_id + i
        ids[col.cdo_field or col.name] = fid
        data_type = _CDO_TYPES[col.type]
        if col.cdo_field == "ContactEmail":
            data_type = "emailAddress"
        fields.append(
            Field(
                f"f{fid}",
                f"{{{{CustomObject[{cdo_id}].Field[{fid}]}}}}",
                col.cdo_field or col.name,
                col.cdo_field or col.name,
                data_type,
                fid,
                unique=(col.cdo_field == unique and col.cdo_field in _UNIQUE_CDO_FIELDS),
            )
        )
    entity = Entity(
        f"customObjects/{cdo_id}", f"cdo_{cdo_id}", tuple(fields), label=obj.custom_object_name or ""
    )
    return CustomObject(
        cdo_id,
        obj.custom_object_name or obj.name,
        entity,
        ids[unique],
        ids[email] if email else None,
        ids[display],
    )


CAMPAIGN_RESPONSES_CDO = _custom_object(
    41, CAMPAIGN_RESPONSES, 1001, "ResponseId", "ContactEmail", "ResponseId"
)
SFDC_CAMPAIGNS_CDO = _custom_object(42, SFDC_CAMPAIGNS, 1021, "CampaignId", None, "CampaignName")
CUSTOM_OBJECTS: dict[int, CustomObject] = {c.id: c for c in (CAMPAIGN_RESPONSES_CDO, SFDC_CAMPAIGNS_CDO)}


def cdo_key(cdo: CustomObject, cdo_field: str) -> str:
    """The store column of a custom object's field, by the field's name."""
    return next(f.key for f in cdo.entity.fields if f.name == cdo_field and f.listed)


def entity_for(name: str) -> Entity | None:
    """The entity for a URI prefix: contacts, accounts, activities, customObjects/{id}, campaignResponses or
    events/{id}."""
    lowered = name.lower()
    if lowered == "contacts":
        return CONTACT_ENTITY
    if lowered == "accounts":
        return ACCOUNT_ENTITY
    if lowered == "activities":
        return ACTIVITY_ENTITY
    if lowered == "campaignresponses":
        return CAMPAIGN_RESPONSE_ENTITY
    m = re.fullmatch(r"customobjects/(\d+)", lowered)
    if m and int(m.group(1)) in CUSTOM_OBJECTS:
        return CUSTOM_OBJECTS[int(m.group(1))].entity
    m = re.fullmatch(r"events/(\d+)", lowered)
    if m and int(m.group(1)) in EVENTS:
        return EVENTS[int(m.group(1))].entity
    return None


# --- lists, segments and filters (EXISTS) -------------------------------------------------------------------


@dataclass(frozen=True)
class MemberList:
    """A contact or account list that ``EXISTS('{{ContactList[id]}}')`` can test; membership is a rule on the
    id."""

    kind: str  # ContactList | ContactSegment | ContactFilter | AccountList
    id: int
    name: str
    entity: str
    is_member: Callable[[int], bool]

    @property
    def statement(self) -> str:
        return f"{{{{{self.kind}[{self.id}]}}}}"


MEMBER_LISTS: tuple[MemberList, ...] = (
    MemberList("ContactList", 1, "Newsletter subscribers", "contacts", lambda i: i % 3 == 0),
    MemberList("ContactList", 2, "Event attendees", "contacts", lambda i: i % 7 == 2),
    MemberList("ContactSegment", 1, "EMEA prospects", "contacts", lambda i: i % 4 == 1),
    MemberList("ContactFilter", 1, "Recently active", "contacts", lambda i: i % 5 == 0),
    MemberList("AccountList", 1, "Strategic accounts", "accounts", lambda i: i % 2 == 0),
)


def member_list(statement: str) -> MemberList | None:
    norm = normalize_statement(statement)
    return next((m for m in MEMBER_LISTS if normalize_statement(m.statement) == norm), None)


def contract_statements(obj: EloquaObject) -> list[str]:
    """The statements of a contract object as the sandbox spells them (CDO fields by id)."""
    if obj.custom_object_name is None:
        return [c.statement for c in obj.columns if c.statement]
    cdo = next(c for c in CUSTOM_OBJECTS.values() if c.name == obj.custom_object_name)
    return [
        next(f.statement for f in cdo.entity.fields if f.name == c.cdo_field and f.listed)
        for c in obj.columns
    ]


assert all(CONTACT_ENTITY.resolve(s) for s in contract_statements(CONTACTS))
assert all(ACTIVITY_ENTITY.resolve(s) for s in contract_statements(ACTIVITIES))


# --- lead scoring models (/contacts/scoring/models) -------------------------------------------------------


@dataclass(frozen=True)
class ScoringModel:
    id: int
    name: str
    status: str
    statements: tuple[str, ...]


SCORING_MODELS: tuple[ScoringModel, ...] = (
    ScoringModel(
        1,
        "Lead Scoring Model",
        "Active",
        tuple(f.statement for f in _CONTACT_FIELDS if f.statement.startswith("{{Contact.LeadScore.Model[1].")),
    ),
)


# --- campaign responses (/campaignResponses) --------------------------------------------------------------


def _linked_contact_fields(prefix: str, table: str) -> tuple[Field, ...]:
    """``{{<prefix>.Contact.Field(C_...)}}``: the record's contact's fields, through its ``contact_id``."""
    return tuple(
        Field(
            f"contact_{f.key}",
            f"{{{{{prefix}.Contact.Field({f.internal_name})}}}}",
            f"Contact {f.name}",
            f.internal_name,
            f.data_type,
            0,
            read_only=True,
            listed=False,
            system=f.system,
            source=f'(SELECT "{f.key}" FROM contacts WHERE contacts.id = {table}.contact_id)',
        )
        for f in _CONTACT_FIELDS
        if f.statement.startswith("{{Contact.Field(")
    )


def _crf(key: str, statement: str, name: str, data_type: str, fid: int, **kw: Any) -> Field:
    return Field(key, statement, name, name, data_type, fid, **kw)


# Eloqua's native campaign responses (a contact's response to an Eloqua campaign), as the campaign response
# export statements name them; not the project's "Campaign Responses" custom object (/customObjects/41).
CAMPAIGN_RESPONSE_ENTITY = Entity(
    "campaignResponses",
    "campaign_responses",
    (
        _crf("id", "{{CampaignResponse.Id}}", "Id", "number", 400001, read_only=True, unique=True),
        _crf("created_at", "{{CampaignResponse.CreatedAt}}", "CreatedAt", "date", 400002, read_only=True,
             system=True),
        _crf("member_status", "{{CampaignResponse.Field(MemberStatus)}}", "MemberStatus", "string", 400003),
        _crf("integration_return_value", "{{CampaignResponse.Field(IntegrationReturnValue)}}",
             "IntegrationReturnValue", "string", 400004),
        _crf("campaign_id", "{{CampaignResponse.Campaign.Id}}", "CampaignId", "number", 400005, read_only=True),
        _crf("contact_id", "{{CampaignResponse.Contact.Id}}", "ContactId", "number", 400006, read_only=True),
        _crf("campaign_crm_id", "{{CampaignResponse.Campaign.Field(CRMCampaignId)}}", "CRMCampaignId", "string",
             400007, read_only=True,
             source="CASE WHEN campaign_id IS NULL THEN NULL ELSE printf('7015g%013d', campaign_id) END"),
        _crf("campaign_name", "{{CampaignResponse.Campaign.Field(CampaignName)}}", "CampaignName", "string",
             400008, read_only=True,
             source="CASE WHEN campaign_id IS NULL THEN NULL ELSE 'Campaign ' || campaign_id END"),
        *_linked_contact_fields("CampaignResponse", "campaign_responses"),
    ),
    label="campaign response",
)


# --- events (/events/{id}): registrants, like custom object records ---------------------------------------


@dataclass(frozen=True)
class Event:
    id: int
    name: str
    entity: Entity
    email_field_id: int


def _event(event_id: int, name: str, first_field_id: int, spec: tuple[tuple[str, str], ...]) -> Event:
    prefix, table = f"Event[{event_id}]", f"event_{event_id}"
    fields: list[Field] = [
        Field("id", f"{{{{{prefix}.Id}}}}", "Id", "Id", "number", 0, read_only=True, unique=True, listed=False),
        Field("created_at", f"{{{{{prefix}.CreatedAt}}}}", "Created At", "CreatedAt", "date", 0, read_only=True,
              listed=False, system=True),
        Field("updated_at", f"{{{{{prefix}.UpdatedAt}}}}", "Updated At", "UpdatedAt", "date", 0, read_only=True,
              listed=False, system=True),
        Field("contact_id", f"{{{{{prefix}.Contact.Id}}}}", "Contact Id", "ContactId", "number", 0,
              read_only=True, listed=False),
    ]
    for i, (field_name, data_type) in enumerate(spec):
        fid = first_field_id + i
        fields.append(Field(f"f{fid}", f"{{{{{prefix}.Field[{fid}]}}}}", field_name, field_name, data_type, fid,
                            unique=data_type == "emailAddress"))
    entity = Entity(f"events/{event_id}", table, (*fields, *_linked_contact_fields(prefix, table)), label="event")
    return Event(event_id, name, entity, first_field_id)


_REGISTRANT = (("Email Address", "emailAddress"), ("First Name", "text"), ("Last Name", "text"))
EVENTS: dict[int, Event] = {
    e.id: e
    for e in (
        _event(1, "Customer Summit 2026", 3001,
               (*_REGISTRANT, ("Company", "text"), ("Session", "text"), ("Registered At", "date"),
                ("Attended", "boolean"))),
        _event(2, "Webinar: Data Quality Basics", 3101, (*_REGISTRANT, ("Registered At", "date"))),
    )
}


ALL_ENTITIES: tuple[Entity, ...] = (
    CONTACT_ENTITY,
    ACCOUNT_ENTITY,
    ACTIVITY_ENTITY,
    *(c.entity for c in CUSTOM_OBJECTS.values()),
    CAMPAIGN_RESPONSE_ENTITY,
    *(e.entity for e in EVENTS.values()),
)


# --- email groups (sync action destinations) ----------------------------------------------------------------


@dataclass(frozen=True)
class EmailGroup:
    """An email group; a contact's subscription starts from a rule on its id, sync actions change it."""

    id: int
    name: str
    is_subscribed: Callable[[int], bool]

    @property
    def statement(self) -> str:
        return f"{{{{EmailGroup[{self.id}]}}}}"


EMAIL_GROUPS: dict[int, EmailGroup] = {
    g.id: g
    for g in (
        EmailGroup(1, "Monthly Newsletter", lambda i: i % 2 == 1),
        EmailGroup(2, "Product Updates", lambda i: i % 3 == 1),
    )
}


# --- external activities (/activities/imports) ------------------------------------------------------------

# The instance's external asset types and, per type, its external activity types (set up in Eloqua's UI).
EXTERNAL_ASSET_TYPES: dict[str, tuple[str, ...]] = {
    "Tradeshow": ("Visited Booth", "Requested Demo"),
    "Webinar": ("Registered", "Attended"),
}
EXTERNAL_ACTIVITY_TYPES: tuple[str, ...] = tuple(
    dict.fromkeys(t for types in EXTERNAL_ASSET_TYPES.values() for t in types)
)
