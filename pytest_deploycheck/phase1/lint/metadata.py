"""Lint rules on the document's metadata: the info object and the top-level tags.

``tags`` (the top-level tags with their indices) is shared with the operation rules.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from .context import LintContext, blank
from .registry import Issue, rule


def _info(ctx: LintContext) -> Mapping[str, Any]:
    info = ctx.document.get("info")
    return info if isinstance(info, dict) else {}


@rule("info-contact", "warning", "The info object has a contact object.")
def _info_contact(ctx: LintContext) -> Iterator[Issue]:
    if not isinstance(_info(ctx).get("contact"), dict):
        yield Issue("#/info", "add info.contact (name, url, email) so users know who runs the API")


@rule("contact-properties", "off", "The contact object has a name, a url and an email.")
def _contact_properties(ctx: LintContext) -> Iterator[Issue]:
    contact = _info(ctx).get("contact")
    if isinstance(contact, dict):
        for key in ("name", "url", "email"):
            if blank(contact.get(key)):
                yield Issue("#/info/contact", f"add info.contact.{key}")


@rule("info-description", "warning", "The info object has a non-empty description.")
def _info_description(ctx: LintContext) -> Iterator[Issue]:
    if blank(_info(ctx).get("description")):
        yield Issue("#/info", "add info.description: what the API is for, in a few sentences")


@rule("info-license", "warning", "The info object has a license object.")
def _info_license(ctx: LintContext) -> Iterator[Issue]:
    if not isinstance(_info(ctx).get("license"), dict):
        yield Issue("#/info", "add info.license (name, and url or identifier)")


@rule("license-url", "warning", "The license object has a url (or, in 3.1, an identifier).")
def _license_url(ctx: LintContext) -> Iterator[Issue]:
    license_ = _info(ctx).get("license")
    if (
        isinstance(license_, dict)
        and blank(license_.get("url"))
        and (ctx.version == "3.0" or blank(license_.get("identifier")))
    ):
        yield Issue("#/info/license", "add info.license.url pointing at the license text")


def tags(ctx: LintContext) -> list[tuple[int, Mapping[str, Any]]]:
    tags = ctx.document.get("tags")
    if not isinstance(tags, list):
        return []
    return [(index, tag) for index, tag in enumerate(tags) if isinstance(tag, dict)]


@rule("openapi-tags", "off", "The document has a non-empty top-level tags array.")
def _openapi_tags(ctx: LintContext) -> Iterator[Issue]:
    if not tags(ctx):
        yield Issue("#", "add a top-level 'tags' list naming and describing the operation groups")


@rule("openapi-tags-uniqueness", "error", "Each top-level tag has a unique name.")
def _openapi_tags_uniqueness(ctx: LintContext) -> Iterator[Issue]:
    seen: dict[str, int] = {}
    for index, tag in tags(ctx):
        name = tag.get("name")
        if isinstance(name, str):
            if name in seen:
                yield Issue(
                    f"#/tags/{index}/name",
                    f"tag {name!r} is already defined at #/tags/{seen[name]}; merge them",
                )
            else:
                seen[name] = index


@rule("openapi-tags-alphabetical", "off", "Top-level tags are in alphabetical order.")
def _openapi_tags_alphabetical(ctx: LintContext) -> Iterator[Issue]:
    names = [str(tag.get("name", "")) for _, tag in tags(ctx)]
    for index in range(1, len(names)):
        if names[index].lower() < names[index - 1].lower():
            yield Issue(
                f"#/tags/{index}", f"tag {names[index]!r} should come before {names[index - 1]!r}"
            )
            return


@rule("tag-description", "warning", "Each top-level tag has a description.")
def _tag_description(ctx: LintContext) -> Iterator[Issue]:
    for index, tag in tags(ctx):
        if blank(tag.get("description")):
            yield Issue(f"#/tags/{index}", f"add a description to tag {tag.get('name')!r}")
