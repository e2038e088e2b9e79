"""`ticket-dq materialize`: run every asset once (placeholder until wired; owner: lead)."""


def register(sub):
    p = sub.add_parser("materialize", help="(not built yet)")
    p.set_defaults(func=lambda args: 0)
