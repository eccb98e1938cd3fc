from . import amazon_marketplace
from . import res_company
from . import amazon_account
from . import res_config_settings
