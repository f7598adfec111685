"""one version number per policy kind, one active policy per kind

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-03 14:52:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("uq_policy_version", "policies", ["kind", "version"], unique=True)
    op.create_index(
        "uq_policy_active", "policies", ["kind"], unique=True,
        sqlite_where=sa.text("active = 1"), postgresql_where=sa.text("active"),
    )  # fmt: skip


def downgrade() -> None:
    op.drop_index("uq_policy_active", table_name="policies")
    op.drop_index("uq_policy_version", table_name="policies")
