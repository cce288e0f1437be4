"""Route53 record deletion as Route53 does it: a record set is identified by
its name, type and (for weighted and other routing policies) set
identifier. moto 5.1 deletes, for a DELETE change with a SetIdentifier,
every record set of the zone with that set identifier, whatever its name
and type: deleting app.example.com's weighted record "blue" also deleted
api.example.com's "blue" (two migrations' pairs in one zone share the
default set identifiers "blue" and "green")."""

import threading

from moto.route53 import models

# The DELETE changes with a set identifier of the change batch being
# applied, in order, per request thread: moto applies the batch's changes
# in order and calls FakeZone.delete_rrset_by_id once for each of them.
_batch = threading.local()


def _norm(name):
    return (name or "").rstrip(".").lower()


def install():
    backend = models.Route53Backend
    zone = models.FakeZone
    change = backend.change_resource_record_sets
    delete_by_id = zone.delete_rrset_by_id

    def change_resource_record_sets(self, zoneid, change_list):
        _batch.deletes = [
            (_norm(c["ResourceRecordSet"].get("Name")), c["ResourceRecordSet"].get("Type"), c["ResourceRecordSet"]["SetIdentifier"])
            for c in change_list
            if c.get("Action") == "DELETE" and "SetIdentifier" in c.get("ResourceRecordSet", {})
        ]
        try:
            return change(self, zoneid, change_list)
        finally:
            _batch.deletes = None

    def delete_rrset_by_id(self, set_identifier):
        deletes = getattr(_batch, "deletes", None)
        if not deletes or deletes[0][2] != set_identifier:
            return delete_by_id(self, set_identifier)
        name, type_, _ = deletes.pop(0)
        self.rrsets = [
            r
            for r in self.rrsets
            if not (_norm(r.name) == name and (type_ is None or r.type_ == type_) and r.set_identifier == set_identifier)
        ]

    backend.change_resource_record_sets = change_resource_record_sets
    zone.delete_rrset_by_id = delete_rrset_by_id
