"""The JSON bodies the directory endpoints answer with, as the OpenAPI document gives them."""

from __future__ import annotations

from pydantic import Field

from hub.api import ApiModel
from hub.directory.model import OrgKind, Role


class OrgUnit(ApiModel):
    id: str
    name: str
    kind: OrgKind
    parent: str | None = Field(description="the parent unit's id (null: a root)")
    extension: str | None = Field(description="the unit's duty line extension number")


class OrgUnitNode(OrgUnit):
    children: list[OrgUnitNode]


class OrgUnitTree(ApiModel):
    org_units: list[OrgUnitNode] = Field(description="the roots, each with its children")


class OrgUnitList(ApiModel):
    items: list[OrgUnit] = Field(description="best match first")


class Person(ApiModel):
    id: str
    name: str
    org_unit: str = Field(description="the person's org unit's id")
    title: str = Field(description="the job title (may be empty)")
    roles: list[Role]
    extension: str | None = Field(description="the person's phone extension number")
    active: bool = Field(description="false: deactivated, can no longer sign in")


class PersonInUnit(Person):
    org_unit_name: str | None = Field(description="the org unit's name")


class PersonPage(ApiModel):
    items: list[PersonInUnit] = Field(description="best match first")
    total: int = Field(description="how many match in all")
    limit: int
    offset: int


class DirectoryImportReport(ApiModel):
    org_units: int = Field(description="how many org units the import holds")
    people: int = Field(description="how many people the import holds")
    created: int = Field(description="org units and people new to the directory")
    updated: int = Field(description="org units and people already there, written again")
    deactivated: int = Field(description="people deactivated because the import left them out (prune)")
