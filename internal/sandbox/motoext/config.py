"""The emulator's settings, from the environment at boot (and changeable at
run time through the control route, see control.py):

CUTOVER_MOTO_EKS_DELAY          seconds an asynchronous change takes (add-on
                                CREATING -> ACTIVE, an update InProgress ->
                                Successful, a deletion); default 1
CUTOVER_MOTO_EKS_CALENDAR_DATE  the date the Kubernetes version calendar is
                                read at (YYYY-MM-DD); default 2025-06-01
CUTOVER_MOTO_EKS_IRSA_CHECK     "false" turns off the check that an add-on's
                                serviceAccountRoleArn trusts the cluster's
                                OIDC provider (on by default)
"""

import datetime
import os
import threading

DEFAULT_DELAY = 1.0
DEFAULT_CALENDAR_DATE = "2025-06-01"


def _parse_date(s):
    return datetime.datetime.strptime(s, "%Y-%m-%d").replace(tzinfo=datetime.timezone.utc)


class Config:
    def __init__(self):
        self.lock = threading.RLock()
        self.reset()

    def reset(self):
        self.delay = float(os.environ.get("CUTOVER_MOTO_EKS_DELAY", DEFAULT_DELAY))
        self.calendar_date = _parse_date(os.environ.get("CUTOVER_MOTO_EKS_CALENDAR_DATE", DEFAULT_CALENDAR_DATE))
        self.irsa_check = os.environ.get("CUTOVER_MOTO_EKS_IRSA_CHECK", "true").lower() not in ("0", "false", "no")

    def update(self, values):
        """Applies {"delaySeconds", "calendarDate", "irsaCheck"}; raises
        ValueError on a bad value."""
        with self.lock:
            if "delaySeconds" in values:
                d = float(values["delaySeconds"])
                if d < 0:
                    raise ValueError("delaySeconds must be >= 0")
                self.delay = d
            if "calendarDate" in values:
                self.calendar_date = _parse_date(values["calendarDate"])
            if "irsaCheck" in values:
                self.irsa_check = bool(values["irsaCheck"])

    def to_json(self):
        return {
            "delaySeconds": self.delay,
            "calendarDate": self.calendar_date.strftime("%Y-%m-%d"),
            "irsaCheck": self.irsa_check,
        }


config = Config()
