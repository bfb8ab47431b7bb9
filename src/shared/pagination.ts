import { ArgsType, Field, Int, ObjectType, type ClassType } from "type-graphql";
import { Max, Min } from "class-validator";
import type { Connection } from "./keyset.js";

/** GraphQL arguments and connection types of paged listings; the paging itself is in keyset.ts. */
@ArgsType()
export class PageArgs {
  @Field(() => Int, { defaultValue: 20, description: "Page size, 1 to 100." })
  @Min(1)
  @Max(100)
  first!: number;

  @Field(() => String, { nullable: true, description: "Cursor after which the page starts." })
  after?: string | null;
}

@ObjectType()
export class PageInfo {
  @Field(() => Boolean)
  hasNextPage!: boolean;

  @Field(() => String, { nullable: true })
  endCursor!: string | null;
}

/** A Relay connection type for `node` (type-graphql needs one concrete class per node type). */
export function ConnectionType<T extends object>(node: ClassType<T>, name: string) {
  @ObjectType(`${name}Edge`)
  class Edge {
    @Field(() => String)
    cursor!: string;

    @Field(() => node)
    node!: T;
  }

  @ObjectType(`${name}Connection`)
  class ConnectionClass implements Connection<T> {
    @Field(() => [Edge])
    edges!: Edge[];

    @Field(() => PageInfo)
    pageInfo!: PageInfo;

    @Field(() => Int, { description: "How many items match, across all pages." })
    totalCount!: number;
  }
  return ConnectionClass;
}
