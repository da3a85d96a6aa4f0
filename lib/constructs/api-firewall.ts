/**
 * The web ACL in front of the REST API stage: a per-IP rate limit, then AWS's common rule set. The rate
 * limit answers 429 in SynthForge's error envelope; the rule set's blocks reach the client as API
 * Gateway's WAF_FILTERED gateway response (403, same envelope).
 */
import { CfnWebACL, CfnWebACLAssociation } from 'aws-cdk-lib/aws-wafv2';
import { Construct } from 'constructs';

export interface ApiFirewallProps {
  /** Prefix of the web ACL's CloudWatch metric names. */
  readonly metricPrefix: string;
  /** Requests one client IP may send per 5 minutes before it gets 429s. */
  readonly rateLimitPer5Minutes: number;
}

const envelope = (code: string, message: string) => JSON.stringify({ error: { code, message } });

export class ApiFirewall extends Construct {
  readonly webAcl: CfnWebACL;

  constructor(scope: Construct, id: string, props: ApiFirewallProps) {
    super(scope, id);
    const visibility = (name: string): CfnWebACL.VisibilityConfigProperty => ({
      cloudWatchMetricsEnabled: true,
      metricName: `${props.metricPrefix}-${name}`,
      sampledRequestsEnabled: true,
    });

    this.webAcl = new CfnWebACL(this, 'WebAcl', {
      scope: 'REGIONAL',
      description: 'SynthForge API: per-IP rate limit and the AWS common rule set',
      defaultAction: { allow: {} },
      visibilityConfig: visibility('web-acl'),
      customResponseBodies: {
        RateLimited: {
          contentType: 'APPLICATION_JSON',
          content: envelope('RATE_LIMITED', 'too many requests from this address; retry later'),
        },
      },
      rules: [
        {
          name: 'RateLimitPerIp',
          priority: 0,
          statement: {
            rateBasedStatement: {
              limit: props.rateLimitPer5Minutes,
              aggregateKeyType: 'IP',
              evaluationWindowSec: 300,
            },
          },
          action: {
            block: {
              customResponse: {
                responseCode: 429,
                customResponseBodyKey: 'RateLimited',
                responseHeaders: [{ name: 'Retry-After', value: '60' }],
              },
            },
          },
          visibilityConfig: visibility('rate-limit-per-ip'),
        },
        {
          name: 'AWSManagedRulesCommonRuleSet',
          priority: 1,
          overrideAction: { none: {} },
          statement: {
            managedRuleGroupStatement: {
              vendorName: 'AWS',
              name: 'AWSManagedRulesCommonRuleSet',
              // Its 8 KB body limit would reject valid batches (up to 1000 job runs); request size is
              // bounded by API Gateway (10 MB, 413) and by the route schemas instead. Counted, not blocked.
              ruleActionOverrides: [{ name: 'SizeRestrictions_BODY', actionToUse: { count: {} } }],
            },
          },
          visibilityConfig: visibility('common-rule-set'),
        },
      ],
    });
  }

  /** Puts the web ACL in front of a REST API stage (or any regional resource). */
  protect(id: string, resourceArn: string): CfnWebACLAssociation {
    return new CfnWebACLAssociation(this, id, { resourceArn, webAclArn: this.webAcl.attrArn });
  }
}
