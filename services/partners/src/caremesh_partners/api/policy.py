"""Who may call each gateway route (see caremesh_kit.policy): administrators only, for now. A
partner's own access to its delivery log is the next step (SMART ``system/Subscription.*``)."""

from caremesh_kit.policy import Policy, allow

POLICY: Policy = {
    ("POST", "/partners"): allow("Organization", "c"),
    ("GET", "/partners"): allow("Organization", "s"),
    ("GET", "/partners/{partner_id}"): allow("Organization", "r"),
    ("POST", "/partners/{partner_id}/status"): allow("Organization", "u"),
    ("POST", "/partners/{partner_id}/broker-credentials"): allow("Organization", "u"),
    ("POST", "/partners/{partner_id}/subscriptions"): allow("Subscription", "c"),
    ("GET", "/partners/{partner_id}/subscriptions"): allow("Subscription", "s"),
    ("GET", "/subscriptions/{subscription_id}"): allow("Subscription", "r"),
    ("GET", "/subscriptions/{subscription_id}/secret"): allow("Subscription", "r"),
    ("POST", "/subscriptions/{subscription_id}/secret/rotate"): allow("Subscription", "u"),
    ("POST", "/subscriptions/{subscription_id}/enable"): allow("Subscription", "u"),
    ("POST", "/subscriptions/{subscription_id}/disable"): allow("Subscription", "u"),
    ("GET", "/subscriptions/{subscription_id}/deliveries"): allow("Subscription", "s"),
    ("GET", "/subscriptions/{subscription_id}/deliveries/{delivery_id}"): allow("Subscription", "r"),
    ("POST", "/subscriptions/{subscription_id}/replay"): allow("Subscription", "u"),
}
