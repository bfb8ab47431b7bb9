/** The example flow of docs/language.md#flow-definition over two stored policies (base or record IDs), and the second policy it uses. */
export const loanFlow = (agePolicy: string, creditPolicy: string) => `
flow:
  start:
    - id: start-1
      type: start
      policyId: ${agePolicy}
      policyName: Age check
      onTrue:
        - id: credit
          type: policy
          policyId: ${creditPolicy}
          onTrue:
            - id: ok
              type: return
              returnValue: true
          onFalse:
            - id: review
              type: custom
              outcome: manual-review
      onFalse:
        - id: no
          type: return
          returnValue: false
metadata:
  totalNodes: 5
  totalEdges: 4
  timestamp: 2025-06-17T22:42:27.457Z
`;

export const CREDIT_POLICY = "A **Person** is creditworthy if __score__ of **Person** is at least 600.";
