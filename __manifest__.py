# Part of sale_amazon_connector. License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
{
    "name": "Amazon Connector",
    "summary": "Import Amazon Seller Central orders into Odoo and sync deliveries",
    "version": "17.0.1.0.0",
    "category": "Sales/Sales",
    "license": "LGPL-3",
    "depends": ["sale_stock", "stock_delivery", "mail", "account"],
    "external_dependencies": {"python": ["sp_api", "lxml", "requests"]},
    "data": [
        "security/amazon_security.xml",
        "security/ir.model.access.csv",
        "data/amazon_marketplace_data.xml",
        "views/amazon_marketplace_views.xml",
        "views/amazon_account_views.xml",
        "views/res_config_settings_views.xml",
        "views/amazon_menus.xml",
    ],
    "application": False,
    "installable": True,
}
