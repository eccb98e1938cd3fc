/** @odoo-module **/
// Part of sale_amazon_connector. License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
// Run by tests/test_tour.py (HttpCase, admin, developer mode): from the Sales menu to the Amazon
// accounts' dashboard (a late order sync shows red), the account, Sync Orders, the synced orders
// in the sales list, and back to the dashboard, now up to date, whose counters open their lists.

import { registry } from "@web/core/registry";
import { stepUtils } from "@web_tour/tour_service/tour_utils";

const ACCOUNT = "Sandbox Tour Account";

registry.category("web_tour.tours").add("sale_amazon_connector_sync_tour", {
    test: true,
    url: "/web?debug=1",
    steps: () => [
        stepUtils.showAppsMenuItem(),
        {
            content: "Open Sales",
            trigger: '.o_app[data-menu-xmlid="sale.sale_menu_root"]',
        },
        {
            content: "Open Configuration",
            trigger: ".o_menu_sections button[data-menu-xmlid='sale.menu_sale_config']",
        },
        {
            content: "Open Amazon Accounts",
            trigger:
                ".o_menu_sections .dropdown-item[data-menu-xmlid='sale_amazon_connector.menu_amazon_account']",
        },
        {
            content: "The dashboard shows the account, never synced: late, in red",
            extra_trigger: ".o_breadcrumb:contains('Amazon Accounts')",
            trigger: `.o_kanban_view .o_kanban_record:contains('${ACCOUNT}') .o_amazon_sync_age.text-danger:contains('never')`,
            isCheck: true,
        },
        {
            content: "Open the sandbox account",
            trigger: `.o_kanban_view .o_kanban_record:contains('${ACCOUNT}') .o_kanban_record_title`,
        },
        {
            content: "No order yet",
            trigger: "button[name='action_view_sale_orders'] .o_stat_value:contains('0')",
            extra_trigger: ".o_form_view .o_form_statusbar button[name='action_sync_orders']",
            isCheck: true,
        },
        {
            content: "Sync Orders (developer mode)",
            trigger: ".o_form_view .o_form_statusbar button[name='action_sync_orders']",
        },
        {
            content: "The sync reports what it created",
            trigger: ".o_notification:contains('Amazon orders synchronized'):contains('created')",
            isCheck: true,
            timeout: 120000, // the sync's answer: wait for it however loaded the machine is
        },
        {
            content: "Open the account's orders",
            trigger: "button[name='action_view_sale_orders']",
        },
        {
            content: "Amazon orders are in the sales list",
            extra_trigger: ".o_breadcrumb:contains('Sales Orders')",
            trigger: ".o_list_view .o_data_row:nth-child(2) .o_data_cell",
            isCheck: true,
        },
        {
            content: "Back to the accounts' dashboard",
            trigger: ".o_breadcrumb .breadcrumb-item a:contains('Amazon Accounts')",
        },
        {
            content: "The order sync is up to date: no longer red",
            trigger: `.o_kanban_view .o_kanban_record:contains('${ACCOUNT}') .o_amazon_sync_age.text-success`,
            isCheck: true,
        },
        {
            content: "Failed orders: none",
            trigger: `.o_kanban_record:contains('${ACCOUNT}') .o_amazon_failed_orders:contains('0')`,
            isCheck: true,
        },
        {
            content: "The last sync opens the sync history",
            trigger: `.o_kanban_record:contains('${ACCOUNT}') a.o_amazon_sync_age`,
        },
        {
            content: "The sync run is in the history",
            extra_trigger: ".o_breadcrumb:contains('Sync History')",
            trigger: ".o_list_view .o_data_row .o_data_cell:contains('Manual')",
            isCheck: true,
        },
    ],
});
