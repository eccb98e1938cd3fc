# Part of sale_amazon_connector. License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""A settlement group of many pages, more than one scheduled run reads: each run keeps the
pages it read and the next one goes on from the page after them; the settlement is made
once the group is read whole, with the totals of a group read at once."""

from decimal import Decimal

from odoo.tests import tagged

from ..amazon_sp import ratelimit
from .common import AmazonAccountingCase
from .test_run_budget import BudgetMixin

ES = "A1RKKUPIHCS9HS"
GROUP_EVENTS = "listFinancialEventsByGroupId"


@tagged("post_install", "-at_install")
class TestSettlementPages(BudgetMixin, AmazonAccountingCase):
    SETTLEMENTS_CRON = "sale_amazon_connector.ir_cron_import_settlements"

    def staged(self):
        return self.env["amazon.settlement.page"].search([("account_id", "=", self.account.id)])

    def group_reads(self):
        return self.sandbox.state.stats["calls"].get(GROUP_EVENTS, 0)

    def closed_group(self):
        """Two orders shipped, one refunded, an ads charge: Amazon's closed group of them."""
        fba, fbm = "171-8800001-0000001", "171-8800001-0000002"
        self.add_order(
            fba,
            fulfilled_by="AMAZON",
            items=[{"sku": "MUG-RED", "quantity": 3, "unitPrice": "12.10"}],
        )
        self.add_order(fbm, items=[{"sku": "BOOK-1", "quantity": 1, "unitPrice": "20.80"}])
        self.sync()
        self.sandbox.state.set_status(fbm, "SHIPPED")
        self.sandbox.state.refund(fba)
        self.sandbox.state.add_ads_charge("ES", "20.00", "4.20")
        self.sandbox.state.advance(15 * 86400)
        [group] = [g for g in self.sandbox.state.finance_groups().values() if g["closed"]]
        return fba, fbm, group

    def test_a_group_of_many_pages_is_imported_over_several_runs(self):
        fba, fbm, group = self.closed_group()
        pages = len(group["events"])  # a page per event: pages of one
        self.assertGreaterEqual(pages, 4, "a group of several pages")
        Account = self.env["amazon.account"].with_context(
            amazon_test_run_budget=0, amazon_test_finance_page_size=1
        )

        # A page token Amazon no longer takes: the pages kept are dropped, the run fails and
        # says so, the next one reads the group from its first page.
        Account._cron_import_settlements()
        self.assertTrue(self.last_run("settlements").continued)
        kept = self.staged()
        self.assertEqual((len(kept), kept.group_ref, kept.sequence), (1, group["id"], 0))
        self.assertTrue(kept.next_token)
        kept.next_token = "not-a-token-amazon-issued"
        with self.refused_on_purpose(GROUP_EVENTS):
            Account._cron_import_settlements()
        failed = self.last_run("settlements")
        self.assertEqual(failed.state, "error")
        self.assertFalse(failed.continued)
        self.assertFalse(self.staged(), "the group is read again from its start")
        self.assertFalse(self.account.settlement_ids)

        before = self.group_reads()
        tokens = []

        def each(run):
            kept = self.staged()
            self.assertEqual(
                kept.mapped("sequence"),
                list(range(len(tokens) + 1)),
                "each run goes on from the page after the last one kept",
            )
            self.assertEqual(set(kept.mapped("group_ref")), {group["id"]})
            self.assertTrue(kept[-1].next_token)
            self.assertEqual(run.created_count, 0)
            self.assertFalse(self.account.settlement_ids, "not before the group is read whole")
            tokens.append(kept[-1].next_token)

        runs = self.run_until_done(
            "settlements", self.SETTLEMENTS_CRON, Account._cron_import_settlements, each
        )
        self.assertEqual(len(runs), pages, "a page a run")
        self.assertEqual(self.group_reads() - before, pages, "no page read twice")
        self.assertEqual(len(set(tokens)), pages - 1)
        self.assertEqual(runs.mapped("created_count"), [0] * (pages - 1) + [1])
        self.assertFalse(self.staged(), "the pages kept are gone with the settlement made")

        # The settlement is the one an import of the group at once makes.
        settlement = self.account.settlement_ids
        self.assertEqual(len(settlement), 1)
        self.assertEqual(settlement.group_ref, group["id"])
        self.assertEqual(settlement.marketplace_id.api_ref, ES)
        self.assertEqual(settlement.date_end, group["end"].replace(tzinfo=None))
        with self.account._get_sp_api_client() as client:
            whole = client.finances.list_financial_events_by_group_id(group["id"])
        self.assertEqual(whole.total, group["total"])
        money = settlement.currency_id
        for value, expected in (
            (settlement.payout, group["total"]),
            (settlement.fee_total, -group["fees"]),
            (settlement.fee_total, -whole.fee_total),
            (settlement.sales_total, whole.total - whole.fee_total),
        ):
            self.assertEqual(money.compare_amounts(value, float(expected)), 0)
        self.assertEqual(settlement.refund_order_ids, self.amazon_order(fba))
        self.assertEqual(settlement.order_ids, self.amazon_order(fba) | self.amazon_order(fbm))
        bill = settlement.bill_id
        self.assertEqual(Decimal(str(bill.amount_total)).quantize(Decimal("0.01")), -group["fees"])
        self.assertEqual(
            {line.name for line in bill.invoice_line_ids},
            {f"Amazon fees: {fee}" for fee, amount in whole.fees.items() if amount},
        )
        self.assertEqual(len(settlement.refund_ids), len(whole.refund_events))

        # Imported once: the next run has nothing to read.
        reads = self.group_reads()
        runs = self.run_until_done(
            "settlements", self.SETTLEMENTS_CRON, Account._cron_import_settlements
        )
        self.assertEqual(runs.mapped("created_count"), [0])
        self.assertEqual(self.group_reads(), reads)
        self.assertEqual(len(self.account.settlement_ids), 1)

    def test_a_group_throttled_past_the_budget_goes_on_from_the_page_kept(self):
        _fba, _fbm, group = self.closed_group()
        Account = self.env["amazon.account"].with_context(
            amazon_test_run_budget=0, amazon_test_finance_page_size=1
        )
        Account._cron_import_settlements()
        kept = self.staged()
        self.assertEqual(len(kept), 1)
        token = kept.next_token
        with self.account._get_sp_api_client() as client:
            endpoint = client.config.endpoint
        self.addCleanup(ratelimit.LIMITER.forget, endpoint)  # the bucket drained by the 429
        # Amazon throttles the group's pages for longer than the run may wait.
        self.sandbox.faults.add(operation=GROUP_EVENTS, kind="429")
        Account._cron_import_settlements()
        run = self.last_run("settlements")
        self.assertEqual((run.state, run.continued), ("done", True), run.error_summary)
        self.assertGreaterEqual(run.throttled_count, 1, "Amazon answered 429")
        self.assertEqual(self.staged(), kept, "the page kept stays")
        self.assertEqual(kept.next_token, token, "the next run asks the page after it")
        self.sandbox.faults.clear()
        before = self.group_reads()
        runs = self.run_until_done(
            "settlements", self.SETTLEMENTS_CRON, Account._cron_import_settlements
        )
        self.assertEqual(sum(runs.mapped("created_count")), 1)
        self.assertEqual(self.group_reads() - before, len(group["events"]) - 1)
        self.assertFalse(self.staged())
        settlement = self.account.settlement_ids
        self.assertEqual(settlement.group_ref, group["id"])
        money = settlement.currency_id
        self.assertEqual(money.compare_amounts(settlement.payout, float(group["total"])), 0)
        self.assertEqual(money.compare_amounts(settlement.fee_total, float(-group["fees"])), 0)
