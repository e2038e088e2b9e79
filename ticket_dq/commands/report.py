"""`ticket-dq report` (being built; its owner replaces this module)."""


def register(sub):
    p = sub.add_parser("report", help="(not built yet)")
    p.set_defaults(func=lambda args: (_ for _ in ()).throw(SystemExit("ticket-dq report is not built yet")))
