"""Every Salesforce URL the sandbox answers, in matching order."""

from __future__ import annotations

from writeback.sandbox.faults import with_token_latency
from writeback.sandbox.http import Router
from writeback.sandbox.salesforce import (
    collections,
    describe,
    limits,
    oauth,
    query,
    rest,
    versions,
)
from writeback.sandbox.salesforce.identity import make_handlers as identity_handlers
from writeback.sandbox.salesforce.pipeline import Endpoint, Rest
from writeback.sandbox.tenants import Registry

DATA = "/services/data/{version}"
SOBJECTS = DATA + "/sobjects"
COLLECTIONS = DATA + "/composite/sobjects"


def build_router(registry: Registry) -> Router:
    router = Router()
    router.add("GET", "/services/oauth2/authorize", oauth.make_authorize(registry))
    router.add("POST", "/services/oauth2/authorize", oauth.make_authorize(registry))
    router.add(
        "POST",
        "/services/oauth2/token",
        with_token_latency(registry, "salesforce", oauth.make_token(registry)),
    )
    router.add("POST", "/services/oauth2/revoke", oauth.make_revoke(registry))
    router.add("GET", "/services/oauth2/revoke", oauth.make_revoke(registry))
    router.add("POST", "/services/oauth2/introspect", oauth.make_introspect(registry))
    oauth.add_login_host_routes(router, registry)  # /_host/{host}/services/oauth2/...
    userinfo, identity = identity_handlers(registry)
    router.add("GET", "/services/oauth2/userinfo", userinfo)
    router.add("POST", "/services/oauth2/userinfo", userinfo)
    router.add("GET", "/id/{org}/{user}", identity)
    router.add("GET", "/services/data", versions.make_versions_handler(registry))

    api = Rest(registry, router)
    api.resource(DATA, GET=Endpoint("resources", versions.resources))
    api.resource(DATA + "/limits", GET=Endpoint("limits", limits.limits))
    api.resource(
        DATA + "/limits/recordCount", GET=Endpoint("limits.record_count", limits.record_count)
    )
    api.resource(DATA + "/query", GET=Endpoint("query", query.query))
    api.resource(SOBJECTS, GET=Endpoint("describe.global", describe.describe_global))
    api.resource(
        SOBJECTS + "/{object}/describe", GET=Endpoint("sobject.describe", describe.describe)
    )
    api.resource(
        SOBJECTS + "/{object}",
        GET=Endpoint("sobject.basic_info", describe.basic_info),
        POST=Endpoint("sobject.create", rest.create),
    )
    api.resource(
        SOBJECTS + "/{object}/{id}",
        GET=Endpoint("sobject.get", rest.get),
        PATCH=Endpoint("sobject.update", rest.update),
        DELETE=Endpoint("sobject.delete", rest.delete),
    )
    api.resource(
        SOBJECTS + "/{object}/{field}/{value}",
        GET=Endpoint("sobject.get_by_external_id", rest.get_by_external_id),
        PATCH=Endpoint("sobject.upsert", rest.upsert),
        DELETE=Endpoint("sobject.delete_by_external_id", rest.delete_by_external_id),
    )
    api.resource(
        COLLECTIONS,
        POST=Endpoint("collections.create", collections.create),
        PATCH=Endpoint("collections.update", collections.update),
        DELETE=Endpoint("collections.delete", collections.delete),
    )
    api.resource(
        COLLECTIONS + "/{object}",
        GET=Endpoint("collections.retrieve", collections.retrieve),
        POST=Endpoint("collections.retrieve", collections.retrieve),
    )
    api.resource(
        COLLECTIONS + "/{object}/{field}",
        PATCH=Endpoint("collections.upsert", collections.upsert),
    )
    return router
