def test_untag_resource_removes_every_key_named(eks, make_cluster):
    # UntagResource repeats tagKeys, one key per value; moto alone removed
    # only the first.
    arn = make_cluster(name="tagged", tags={"cutover.dev/logical-cluster": "shop-prod", "cutover.dev/generation": "1", "team": "shop"})["arn"]
    eks.untag_resource(resourceArn=arn, tagKeys=["cutover.dev/logical-cluster", "cutover.dev/generation"])
    assert eks.describe_cluster(name="tagged")["cluster"]["tags"] == {"team": "shop"}
    assert eks.list_tags_for_resource(resourceArn=arn)["tags"] == {"team": "shop"}
    eks.untag_resource(resourceArn=arn, tagKeys=["absent"])
    assert eks.describe_cluster(name="tagged")["cluster"]["tags"] == {"team": "shop"}
