"""`ticket-dq simulate` (being built; its owner replaces this module)."""


def register(sub):
    p = sub.add_parser("simulate", help="(not built yet)")
    p.set_defaults(func=lambda args: (_ for _ in ()).throw(SystemExit("ticket-dq simulate is not built yet")))
